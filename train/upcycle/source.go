package upcycle

import (
	"fmt"
	"math"
	"strings"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/optim"
	"github.com/moetrain/moetrain/train"
)

// OpenSource reads one model to upcycle from: a moetrain checkpoint (any form
// checkpoint.Resolve accepts) with its AdamW moments when it has them, or a
// HuggingFace Llama/Mixtral directory (no moments). It writes nothing.
func OpenSource(path string) (Source, error) {
	cfg, m, ck, err := train.OpenModel(path)
	if err != nil {
		return Source{}, err
	}
	s := Source{Name: path, Config: cfg, Model: m}
	if ck == nil || ck.Optimizer == nil {
		return s, nil
	}
	s.ExpAvg, s.ExpAvgSq = map[string]*autograd.Tensor{}, map[string]*autograd.Tensor{}
	for key, t := range ck.Optimizer {
		switch {
		case key == optim.StepKey:
			if t.Len() != 1 || t.At(0) < 0 || t.At(0) != math.Trunc(t.At(0)) || t.At(0) > 1<<53 {
				return Source{}, fmt.Errorf("%s: optimizer %q is not a step count; the checkpoint is corrupt", path, key)
			}
			s.OptimizerSteps = int(t.At(0))
		case strings.HasPrefix(key, optim.ExpAvgSqKey):
			s.ExpAvgSq[strings.TrimPrefix(key, optim.ExpAvgSqKey)] = t
		case strings.HasPrefix(key, optim.ExpAvgKey):
			s.ExpAvg[strings.TrimPrefix(key, optim.ExpAvgKey)] = t
		}
	}
	return s, nil
}

// OptimizerState returns the carried moments as an AdamW state to start the
// upcycled run from (train.Options.OptimizerState), or nil when no moments
// were carried. Its step count is the first source's, so that AdamW's bias
// correction treats the moments as the estimates of that many steps they are;
// the learning-rate schedule of the new run still starts at 0.
func (r *Result) OptimizerState() map[string]*autograd.Tensor {
	if r.ExpAvg == nil || r.ExpAvgSq == nil {
		return nil
	}
	st := make(map[string]*autograd.Tensor, len(r.ExpAvg)+len(r.ExpAvgSq)+1)
	for name, t := range r.ExpAvg {
		st[optim.ExpAvgKey+name] = t
	}
	for name, t := range r.ExpAvgSq {
		st[optim.ExpAvgSqKey+name] = t
	}
	step := autograd.FromSlice([]float64{float64(r.OptimizerSteps)}, 1)
	step.Name = optim.StepKey
	st[optim.StepKey] = step
	return st
}
