package optim

import (
	"fmt"
	"math"
)

// Decay names the shape of a schedule after warmup.
type Decay string

// The decays a Schedule supports.
const (
	DecayCosine   Decay = "cosine"   // half a cosine from LR down to MinLR
	DecayLinear   Decay = "linear"   // a straight line from LR down to MinLR
	DecayConstant Decay = "constant" // LR until the end
)

// Schedule gives the learning rate as a pure function of the step, so a
// resumed run sees exactly the rates of an uninterrupted one. The rate rises
// linearly from 0 at step 0 to LR at WarmupSteps, then decays to MinLR at
// TotalSteps and stays there.
type Schedule struct {
	Decay       Decay
	LR          float64 // peak rate, reached at the end of warmup
	MinLR       float64 // final rate of the cosine and linear decays
	WarmupSteps int
	TotalSteps  int // where the decay reaches MinLR; unused by DecayConstant
}

// Validate reports the first inconsistent field.
func (s Schedule) Validate() error {
	switch {
	case s.Decay != DecayCosine && s.Decay != DecayLinear && s.Decay != DecayConstant:
		return fmt.Errorf("schedule: unknown decay %q (want %q, %q or %q)", s.Decay, DecayCosine, DecayLinear, DecayConstant)
	case !(s.LR >= 0) || math.IsInf(s.LR, 0):
		return fmt.Errorf("schedule: lr %v must be finite and >= 0", s.LR)
	case !(s.MinLR >= 0 && s.MinLR <= s.LR):
		return fmt.Errorf("schedule: min lr %v must be in [0, lr=%v]", s.MinLR, s.LR)
	case s.WarmupSteps < 0:
		return fmt.Errorf("schedule: warmup steps %d must be >= 0", s.WarmupSteps)
	case s.Decay != DecayConstant && s.TotalSteps <= s.WarmupSteps:
		return fmt.Errorf("schedule: total steps %d must exceed warmup steps %d for %s decay", s.TotalSteps, s.WarmupSteps, s.Decay)
	}
	return nil
}

// FitWarmup returns s with a warmup that ends before TotalSteps, and whether it had to change it.
// A warmup of TotalSteps or more (a short run of a recipe written for a long one) would leave no
// decay, or never reach LR; FitWarmup shortens it to a tenth of the run, TotalSteps/10 (0 below 10
// steps), the share the presets use, so that a short run still rises to LR and decays. A schedule
// without TotalSteps (< 1) is returned as it is.
func (s Schedule) FitWarmup() (Schedule, bool) {
	if s.TotalSteps < 1 || s.WarmupSteps < s.TotalSteps {
		return s, false
	}
	s.WarmupSteps = s.TotalSteps / 10
	return s, true
}

// At returns the learning rate for the update that follows step completed
// steps: drive an optimizer with opt.SetLR(s.At(opt.Steps())) before each
// opt.Step(). A negative step counts as 0. The result is meaningful only for
// a schedule that passes Validate.
func (s Schedule) At(step int) float64 {
	step = max(step, 0)
	if step < s.WarmupSteps {
		return s.LR * float64(step) / float64(s.WarmupSteps)
	}
	if s.Decay == DecayConstant {
		return s.LR
	}
	progress := min(float64(step-s.WarmupSteps)/float64(s.TotalSteps-s.WarmupSteps), 1)
	var frac float64 // share of (LR - MinLR) still left
	if s.Decay == DecayCosine {
		frac = 0.5 * (1 + math.Cos(math.Pi*progress))
	} else {
		frac = 1 - progress
	}
	return s.MinLR + (s.LR-s.MinLR)*frac
}
