package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// AdamWConfig holds AdamW's hyperparameters.
type AdamWConfig struct {
	LR          float64 // learning rate; the schedule usually overrides it through SetLR
	Beta1       float64 // decay of the first-moment average, in [0, 1)
	Beta2       float64 // decay of the second-moment average, in [0, 1)
	Eps         float64 // added to the root of the second moment, > 0
	WeightDecay float64 // decoupled decay: p -= LR*WeightDecay*p on decay parameters, >= 0

	// NoDecay reports whether the parameter with this name is exempt from
	// weight decay. nil means DefaultNoDecay.
	NoDecay func(name string) bool
}

// DefaultAdamWConfig returns PyTorch's AdamW defaults: LR 1e-3, betas
// (0.9, 0.999), eps 1e-8, weight decay 0.01, DefaultNoDecay.
func DefaultAdamWConfig() AdamWConfig {
	return AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Validate reports the first hyperparameter out of its range.
func (c AdamWConfig) Validate() error {
	switch {
	case !(c.LR >= 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("adamw: lr %v must be finite and >= 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("adamw: beta1 %v must be in [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("adamw: beta2 %v must be in [0, 1)", c.Beta2)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("adamw: eps %v must be finite and > 0", c.Eps)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return fmt.Errorf("adamw: weight decay %v must be finite and >= 0", c.WeightDecay)
	}
	return nil
}

// DefaultNoDecay is the usual exemption from weight decay: parameters whose
// name contains "norm", "bias" or "embed" (case-insensitive), i.e. norm
// weights, biases and embedding tables.
func DefaultNoDecay(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "norm") || strings.Contains(n, "bias") || strings.Contains(n, "embed")
}

// AdamW is the Adam optimizer with decoupled weight decay (Loshchilov &
// Hutter), with PyTorch's update order and bias correction. Moments have the
// dtype and shape of their parameter. An AdamW is used by one goroutine at a
// time.
type AdamW struct {
	cfg   AdamWConfig
	slots []slot
	step  int              // updates applied so far
	eng   *autograd.Engine // runs the update's kernels
	job32 adamwJob[float32]
	job64 adamwJob[float64]
}

// slot is one parameter with its optimizer state.
type slot struct {
	name  string
	p     *autograd.Tensor // the trained parameter
	m     *autograd.Tensor // exp_avg, shaped like p
	v     *autograd.Tensor // exp_avg_sq, shaped like p
	decay bool
}

// NewAdamW returns an optimizer for params with zeroed moments. Parameter
// names key the checkpoint state, so each must be non-empty and unique, and
// each parameter must require grad: frozen parameters get no moments. It
// returns an error for an invalid config or parameter list.
func NewAdamW(params []*autograd.Tensor, cfg AdamWConfig) (*AdamW, error) {
	return NewAdamWOn(autograd.DefaultEngine(), params, cfg)
}

// NewAdamWOn is NewAdamW with updates on engine e's cores: a rank or a
// trainer with an engine of its own passes it. It panics if e is nil.
func NewAdamWOn(e *autograd.Engine, params []*autograd.Tensor, cfg AdamWConfig) (*AdamW, error) {
	if e == nil {
		panic("optim.NewAdamWOn: nil engine")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	noDecay := cfg.NoDecay
	if noDecay == nil {
		noDecay = DefaultNoDecay
	}
	o := &AdamW{cfg: cfg, eng: e, slots: make([]slot, len(params))}
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		switch {
		case p == nil:
			return nil, fmt.Errorf("adamw: params[%d] is nil", i)
		case p.Name == "":
			return nil, fmt.Errorf("adamw: params[%d] (shape %v) has no name", i, p.Shape())
		case seen[p.Name]:
			return nil, fmt.Errorf("adamw: parameter name %q appears twice", p.Name)
		case !p.RequiresGrad():
			return nil, fmt.Errorf("adamw: parameter %q does not require grad: a frozen parameter has no optimizer state, so pass only the trainable ones (layers.Model.Trainable)", p.Name)
		}
		seen[p.Name] = true
		m := autograd.New(p.DType(), p.Shape()...)
		m.Name = ExpAvgKey + p.Name
		v := autograd.New(p.DType(), p.Shape()...)
		v.Name = ExpAvgSqKey + p.Name
		o.slots[i] = slot{name: p.Name, p: p, m: m, v: v, decay: !noDecay(p.Name)}
	}
	return o, nil
}

// Engine returns the engine the updates run on.
func (o *AdamW) Engine() *autograd.Engine { return o.eng }

// LR returns the learning rate the next Step uses.
func (o *AdamW) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate for the following steps (a schedule calls it
// before each Step). It panics if lr is negative or not finite.
func (o *AdamW) SetLR(lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		panic(fmt.Sprintf("adamw: SetLR(%v): lr must be finite and >= 0", lr))
	}
	o.cfg.LR = lr
}

// Steps returns the number of updates applied, including those restored by
// LoadState.
func (o *AdamW) Steps() int { return o.step }

// Decays reports whether the named parameter is in the weight-decay group,
// and false for a name the optimizer does not hold.
func (o *AdamW) Decays(name string) bool {
	for i := range o.slots {
		if o.slots[i].name == name {
			return o.slots[i].decay
		}
	}
	return false
}

// Step applies one AdamW update to every parameter from its current
// gradient (a parameter without a gradient buffer counts as a zero
// gradient). A parameter frozen after the optimizer was built (it no longer
// requires grad) is skipped: its value and moments stay as they are, as
// PyTorch skips a parameter without a gradient. With t the new step count, g the gradient and lr, wd the
// learning rate and weight decay, per element:
//
//	p = p * (1 - lr*wd)                (decay group only)
//	m = beta1*m + (1-beta1)*g
//	v = beta2*v + (1-beta2)*g*g
//	p = p - lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
//
// Step allocates nothing after the first call.
func (o *AdamW) Step() { o.StepScaled(1) }

// StepScaled is Step with every gradient read as g*gradScale, which gives the
// update that scaling the gradients in place (as ClipGradNorm does) and then
// calling Step would, bit for bit, without that extra pass over the
// gradients; the gradients themselves are left as they are. With GradNorm
// and ClipFactor it clips for free:
//
//	norm := GradNorm(params)
//	opt.StepScaled(ClipFactor(norm, maxNorm))
//
// It panics if gradScale is negative or not finite.
func (o *AdamW) StepScaled(gradScale float64) {
	if !(gradScale >= 0) || math.IsInf(gradScale, 0) {
		panic(fmt.Sprintf("adamw: StepScaled(%v): the gradient scale must be finite and >= 0", gradScale))
	}
	o.step++
	t := float64(o.step)
	c := adamwCoeffs{
		b1:         o.cfg.Beta1,
		b2:         o.cfg.Beta2,
		stepSize:   o.cfg.LR / (1 - math.Pow(o.cfg.Beta1, t)),
		invSqrtBc2: 1 / math.Sqrt(1-math.Pow(o.cfg.Beta2, t)),
		eps:        o.cfg.Eps,
		gradScale:  gradScale,
	}
	for i := range o.slots {
		s := &o.slots[i]
		if !s.p.RequiresGrad() {
			continue
		}
		c.decay = 1
		if s.decay {
			c.decay = 1 - o.cfg.LR*o.cfg.WeightDecay
		}
		if s.p.DType() == autograd.Float64 {
			runAdamW(o.eng, &o.job64, s, c)
		} else {
			runAdamW(o.eng, &o.job32, s, c)
		}
	}
}

// errState wraps every LoadState error.
var errState = errors.New("adamw: load state")
