package main

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/train"
)

// summary describes what two identical runs agreed on.
type summary struct {
	Step, Tensors, Elements, Records int
	Samples, Tokens                  float64
}

// compareRuns compares the final checkpoints and metrics logs of run
// directories ref and got. It returns every difference found (empty when
// the runs are identical) and what was compared; an error means a run could
// not be read at all.
func compareRuns(ref, got string) ([]string, summary, error) {
	var s summary
	a, err := loadFinal(ref)
	if err != nil {
		return nil, s, err
	}
	b, err := loadFinal(got)
	if err != nil {
		return nil, s, err
	}
	var diffs []string
	if a.Step != b.Step {
		diffs = append(diffs, fmt.Sprintf("final step: reference %d, crashed run %d", a.Step, b.Step))
	}
	s.Step = a.Step
	d, n, e := compareTensors("model", a.Model, b.Model)
	diffs, s.Tensors, s.Elements = append(diffs, d...), n, e
	d, _, _ = compareTensors("optimizer", a.Optimizer, b.Optimizer)
	diffs = append(diffs, d...)
	for _, key := range []string{"samples", "tokens", "skipped_steps"} {
		if a.Metrics[key] != b.Metrics[key] {
			diffs = append(diffs, fmt.Sprintf("checkpoint metric %q: reference %v, crashed run %v", key, a.Metrics[key], b.Metrics[key]))
		}
	}
	s.Samples, s.Tokens = a.Metrics["samples"], a.Metrics["tokens"]
	if !bytes.Equal(a.Sampler, b.Sampler) {
		diffs = append(diffs, fmt.Sprintf("sampler state: reference %s, crashed run %s", a.Sampler, b.Sampler))
	}
	d, n, err = compareMetrics(ref, got)
	if err != nil {
		return nil, s, err
	}
	s.Records = n
	return append(diffs, d...), s, nil
}

// loadFinal loads the checkpoint that run directory dir resumes from.
func loadFinal(dir string) (*checkpoint.Checkpoint, error) {
	step, err := checkpoint.Resolve(dir)
	if err != nil {
		return nil, err
	}
	ck, err := checkpoint.Load(step)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", step, err)
	}
	return ck, nil
}

// compareTensors compares two tensor sets (by name) bit for bit and returns
// the differences, the tensor count and the element count of ref.
func compareTensors(group string, ref, got map[string]*autograd.Tensor) ([]string, int, int) {
	var diffs []string
	elements := 0
	for _, name := range union(ref, got) {
		x, y := ref[name], got[name]
		switch {
		case x == nil:
			diffs = append(diffs, fmt.Sprintf("%s tensor %q: only in the crashed run", group, name))
			continue
		case y == nil:
			diffs = append(diffs, fmt.Sprintf("%s tensor %q: only in the reference", group, name))
			continue
		}
		elements += x.Len()
		if fmt.Sprint(x.Shape()) != fmt.Sprint(y.Shape()) || x.DType() != y.DType() {
			diffs = append(diffs, fmt.Sprintf("%s tensor %q: reference %v %v, crashed run %v %v", group, name, x.DType(), x.Shape(), y.DType(), y.Shape()))
			continue
		}
		if i, u, v, ok := firstBitDiff(x, y); !ok {
			diffs = append(diffs, fmt.Sprintf("%s tensor %q: element %d differs: reference %v, crashed run %v", group, name, i, u, v))
		}
	}
	return diffs, len(ref), elements
}

// firstBitDiff returns the first element whose bits differ in x and y (same
// shape and dtype), with both values; ok is true when there is none.
func firstBitDiff(x, y *autograd.Tensor) (int, float64, float64, bool) {
	if x.DType() == autograd.Float64 {
		p, q := x.F64(), y.F64()
		for i := range p {
			if math.Float64bits(p[i]) != math.Float64bits(q[i]) {
				return i, p[i], q[i], false
			}
		}
		return 0, 0, 0, true
	}
	p, q := x.F32(), y.F32()
	for i := range p {
		if math.Float32bits(p[i]) != math.Float32bits(q[i]) {
			return i, float64(p[i]), float64(q[i]), false
		}
	}
	return 0, 0, 0, true
}

// compareMetrics compares the metrics logs of two runs record by record:
// step, tokens trained on, losses, learning rate and gradient norm must
// match exactly (timings may differ). It returns the differences and the
// reference's record count.
func compareMetrics(ref, got string) ([]string, int, error) {
	a, err := train.ReadMetrics(filepath.Join(ref, train.MetricsFile))
	if err != nil {
		return nil, 0, fmt.Errorf("reference: %w", err)
	}
	b, err := train.ReadMetrics(filepath.Join(got, train.MetricsFile))
	if err != nil {
		return nil, 0, fmt.Errorf("crashed run: %w", err)
	}
	var diffs []string
	if len(a) != len(b) {
		diffs = append(diffs, fmt.Sprintf("%s: reference has %d records, crashed run %d", train.MetricsFile, len(a), len(b)))
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x.Step != y.Step || x.Tokens != y.Tokens || x.Loss != y.Loss || x.LR != y.LR || x.GradNorm != y.GradNorm {
			diffs = append(diffs, fmt.Sprintf("%s record %d: reference step %d tokens %d loss %v lr %v gnorm %v, crashed run step %d tokens %d loss %v lr %v gnorm %v",
				train.MetricsFile, i+1, x.Step, x.Tokens, x.Loss, x.LR, x.GradNorm, y.Step, y.Tokens, y.Loss, y.LR, y.GradNorm))
			break // later records follow from the first difference
		}
	}
	return diffs, len(a), nil
}

// union returns the sorted names of both maps.
func union(a, b map[string]*autograd.Tensor) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
