package optim

import (
	"fmt"
	"math"
	"slices"

	"github.com/moetrain/moetrain/autograd"
)

// State keys: exp_avg.<name> and exp_avg_sq.<name> per parameter, and the
// step count.
const (
	// ExpAvgKey and ExpAvgSqKey prefix a parameter's name in the keys of
	// its first and second moments.
	ExpAvgKey   = "exp_avg."
	ExpAvgSqKey = "exp_avg_sq."
	// StepKey names the step-count entry of State: a float64 tensor of shape
	// [1] holding a whole number.
	StepKey = "step"
)

// maxExactStep is the largest step count a float64 holds exactly.
const maxExactStep = 1 << 53

// State returns the optimizer state for a checkpoint: "exp_avg.<name>" and
// "exp_avg_sq.<name>" for every parameter the optimizer was built with (the
// trainable ones; frozen parameters have no state), shaped and typed like it, and
// StepKey. Hyperparameters are not state: they come from the config, and the
// learning rate from the schedule at Steps(). The moment tensors share the optimizer's buffers, so no memory is
// copied: write them out before the next Step. The step tensor is a fresh
// copy.
func (o *AdamW) State() map[string]*autograd.Tensor {
	st := make(map[string]*autograd.Tensor, 2*len(o.slots)+1)
	for i := range o.slots {
		s := &o.slots[i]
		st[s.m.Name] = s.m
		st[s.v.Name] = s.v
	}
	step := autograd.FromSlice([]float64{float64(o.step)}, 1)
	step.Name = StepKey
	st[StepKey] = step
	return st
}

// LoadState restores state saved by State, copying values into the
// optimizer's own buffers (float32 and float64 entries convert to the
// parameter's dtype). It checks everything before changing anything: an
// error names the missing, mis-shaped or unexpected entry, and leaves the
// optimizer as it was.
func (o *AdamW) LoadState(st map[string]*autograd.Tensor) error {
	step, err := stateStep(st)
	if err != nil {
		return err
	}
	for i := range o.slots {
		s := &o.slots[i]
		for _, want := range []*autograd.Tensor{s.m, s.v} {
			got, ok := st[want.Name]
			switch {
			case !ok || got == nil:
				return fmt.Errorf("%w: missing %q (shape %v)", errState, want.Name, want.Shape())
			case !slices.Equal(got.Shape(), want.Shape()):
				return fmt.Errorf("%w: %q has shape %v, want %v", errState, want.Name, got.Shape(), want.Shape())
			}
		}
	}
	if len(st) != 2*len(o.slots)+1 {
		known := make(map[string]bool, 2*len(o.slots)+1)
		known[StepKey] = true
		for i := range o.slots {
			known[o.slots[i].m.Name] = true
			known[o.slots[i].v.Name] = true
		}
		var extra []string
		for k := range st {
			if !known[k] {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		return fmt.Errorf("%w: unexpected %q: no trainable parameter of that name here (frozen now, or not in this model)", errState, extra[0])
	}
	for i := range o.slots {
		s := &o.slots[i]
		copyConvert(s.m, st[s.m.Name])
		copyConvert(s.v, st[s.v.Name])
	}
	o.step = step
	return nil
}

// stateStep reads and checks the step count.
func stateStep(st map[string]*autograd.Tensor) (int, error) {
	t, ok := st[StepKey]
	if !ok || t == nil {
		return 0, fmt.Errorf("%w: missing %q", errState, StepKey)
	}
	if t.Len() != 1 {
		return 0, fmt.Errorf("%w: %q has shape %v, want [1]", errState, StepKey, t.Shape())
	}
	v := t.At(0)
	if !(v >= 0 && v <= maxExactStep) || v != math.Trunc(v) {
		return 0, fmt.Errorf("%w: %q is %v, want a whole number in [0, 2^53]", errState, StepKey, v)
	}
	return int(v), nil
}

// copyConvert copies src's values into dst (same length), converting dtype.
func copyConvert(dst, src *autograd.Tensor) {
	switch {
	case dst.DType() == src.DType() && dst.DType() == autograd.Float64:
		copy(dst.F64(), src.F64())
	case dst.DType() == src.DType():
		copy(dst.F32(), src.F32())
	case dst.DType() == autograd.Float64:
		convert(dst.F64(), src.F32())
	default:
		convert(dst.F32(), src.F64())
	}
}

func convert[D, S autograd.Float](dst []D, src []S) {
	for i, v := range src {
		dst[i] = D(v)
	}
}
