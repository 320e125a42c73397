package plot

import "testing"

func TestScratch(t *testing.T) {
	dir := writeMetrics(t, synthRecords(300, []int{1, 3}, 8))
	rep, err := Run(dir, "/tmp/plotout", Options{LogLoss: true})
	t.Log(rep, err)
}
