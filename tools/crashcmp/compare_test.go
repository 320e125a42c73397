// Mutations caught: comparing model tensors with a tolerance or skipping
// them (no bit check in firstBitDiff) makes TestFlippedBit fail; dropping
// the samples/tokens comparison makes TestSamplesDiffer fail; dropping the
// per-record tokens check in compareMetrics makes TestMetricsTokensDiffer
// fail; a run() that exits 0 with differences makes TestRunExitStatus fail.
package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

// fakeRun writes a run directory with one checkpoint at step 3 and a
// metrics log of three records; edit may change the checkpoint first.
func fakeRun(t *testing.T, edit func(ck *checkpoint.Checkpoint), tokens []int) string {
	t.Helper()
	dir := t.TempDir()
	ck := &checkpoint.Checkpoint{
		Model:     map[string]*autograd.Tensor{"w": autograd.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)},
		Optimizer: map[string]*autograd.Tensor{"exp_avg.w": autograd.FromSlice([]float32{0, 0, 0, 0, 0, 0}, 2, 3)},
		Sampler:   []byte(`{"position":24}`),
		Metrics:   checkpoint.Metrics{"samples": 24, "tokens": 768},
	}
	if edit != nil {
		edit(ck)
	}
	if _, err := checkpoint.Save(dir, 3, ck); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	for i, n := range tokens {
		fmt.Fprintf(&log, `{"step":%d,"loss":2.5,"lr":0.001,"grad_norm":1,"tokens":%d}`+"\n", i+1, n)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var tokens = []int{256, 512, 768}

func TestIdenticalRuns(t *testing.T) {
	diffs, s, err := compareRuns(fakeRun(t, nil, tokens), fakeRun(t, nil, tokens))
	if err != nil || len(diffs) != 0 {
		t.Fatalf("identical runs: diffs %q, err %v", diffs, err)
	}
	if s.Step != 3 || s.Tensors != 1 || s.Elements != 6 || s.Samples != 24 || s.Records != 3 {
		t.Errorf("summary %+v", s)
	}
}

func TestFlippedBit(t *testing.T) {
	got := fakeRun(t, func(ck *checkpoint.Checkpoint) {
		w := ck.Model["w"].F32()
		w[4] = math.Float32frombits(math.Float32bits(w[4]) ^ 1) // the lowest mantissa bit
	}, tokens)
	diffs, _, err := compareRuns(fakeRun(t, nil, tokens), got)
	if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0], `model tensor "w": element 4`) {
		t.Fatalf("one flipped bit: diffs %q, err %v", diffs, err)
	}
}

func TestSamplesDiffer(t *testing.T) {
	got := fakeRun(t, func(ck *checkpoint.Checkpoint) { ck.Metrics["samples"] = 32 }, tokens)
	diffs, _, err := compareRuns(fakeRun(t, nil, tokens), got)
	if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0], `"samples": reference 24, crashed run 32`) {
		t.Fatalf("samples 24 vs 32: diffs %q, err %v", diffs, err)
	}
}

func TestMetricsTokensDiffer(t *testing.T) {
	diffs, _, err := compareRuns(fakeRun(t, nil, tokens), fakeRun(t, nil, []int{256, 640, 768}))
	if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0], "record 2: reference step 2 tokens 512") {
		t.Fatalf("tokens 512 vs 640 at record 2: diffs %q, err %v", diffs, err)
	}
	diffs, _, _ = compareRuns(fakeRun(t, nil, tokens), fakeRun(t, nil, tokens[:2]))
	if len(diffs) != 1 || !strings.Contains(diffs[0], "reference has 3 records, crashed run 2") {
		t.Fatalf("a record missing: diffs %q", diffs)
	}
}

func TestRunExitStatus(t *testing.T) {
	ref := fakeRun(t, nil, tokens)
	var out, errs bytes.Buffer
	if code := run([]string{ref, fakeRun(t, nil, tokens)}, &out, &errs); code != 0 || !strings.HasPrefix(out.String(), "identical: step 3") {
		t.Errorf("identical: exit %d, %q %q", code, out.String(), errs.String())
	}
	out.Reset()
	errs.Reset()
	other := fakeRun(t, func(ck *checkpoint.Checkpoint) { ck.Sampler = []byte(`{"position":16}`) }, tokens)
	if code := run([]string{ref, other}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "sampler state") {
		t.Errorf("sampler differs: exit %d, %q", code, errs.String())
	}
	if code := run([]string{ref, filepath.Join(ref, "missing")}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "missing") {
		t.Errorf("missing run: exit %d, %q", code, errs.String())
	}
	if code := run([]string{ref}, &out, &errs); code != 2 {
		t.Errorf("one argument: exit %d", code)
	}
}
