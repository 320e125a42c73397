package plot

import (
	"os"
	"os/exec"
	"testing"
)

func TestScratch(t *testing.T) {
	dir := writeMetrics(t, synthRecords(300, []int{1, 3}, 8))
	os.Rename(dir+"/metrics.jsonl", "/tmp/runx/metrics.jsonl")
	d2 := writeMetrics(t, synthRecords(30, nil, 8))
	os.MkdirAll("/tmp/runy", 0o755)
	os.Rename(d2+"/metrics.jsonl", "/tmp/runy/metrics.jsonl")
	_ = exec.Command
}
