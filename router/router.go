package router

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Router holds a router's parameters and its expert-bias state. One Router
// serves one MoE layer; it is used by one goroutine at a time.
type Router struct {
	cfg    Config
	d      int              // D
	gate   *autograd.Tensor // [E, D] logits = x · gate^T (the HF nn.Linear layout)
	scorer Scorer           // the router type's scoring and its own parameters
	bias   []float32        // [E] selection-only expert bias
	adapt  GateAdapter      // adds to the logits; nil without one
}

// New validates cfg and returns a router with float32 parameters: the gate
// weight drawn from N(0, initStd²) and, for noisy_topk, a zero-initialised
// noise weight (as in Shazeer et al. 2017).
func New(cfg Config, dModel int, initStd float64, rng *rand.Rand) (*Router, error) {
	return NewWithDType(cfg, autograd.Float32, dModel, initStd, rng)
}

// NewWithDType is New with parameters of dtype dt (float64 for gradient
// checks and float64 models).
func NewWithDType(cfg Config, dt autograd.DType, dModel int, initStd float64, rng *rand.Rand) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dModel < 1 {
		return nil, fmt.Errorf("router: model width %d < 1", dModel)
	}
	if !(initStd >= 0) {
		return nil, fmt.Errorf("router: init std %v must be >= 0", initStd)
	}
	if rng == nil {
		return nil, fmt.Errorf("router: nil random generator")
	}
	r := &Router{cfg: cfg, d: dModel, bias: make([]float32, cfg.NumExperts)}
	r.gate = autograd.NewParam(dt, "gate", cfg.NumExperts, dModel)
	for i := range r.gate.Len() {
		r.gate.Set(i, rng.NormFloat64()*initStd)
	}
	r.scorer = types[cfg.Type].NewScorer(cfg, dt, dModel)
	return r, nil
}

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }

// Params returns the trainable parameters: the gate weight "gate" [E, D]
// followed by the router type's own (noisy_topk: the noise weight "noise"
// [E, D]).
func (r *Router) Params() []*autograd.Tensor {
	return append([]*autograd.Tensor{r.gate}, r.scorer.Params()...)
}

// Route scores x [N, D] and routes every token to TopK experts. In training
// it applies jitter and (noisy_topk) noise drawn from rng; rng may be nil
// when neither is configured or training is false. It panics if x is not
// [N, D] with the router's D, if x's dtype differs from the parameters', or
// if rng is nil but needed.
func (r *Router) Route(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *Routing {
	if len(x.Shape()) != 2 || x.Dim(1) != r.d {
		panic(fmt.Sprintf("router.Route: input shape %v, want [N, %d]", x.Shape(), r.d))
	}
	if x.DType() != r.gate.DType() {
		panic(fmt.Sprintf("router.Route: %v input for %v parameters", x.DType(), r.gate.DType()))
	}
	if training && r.cfg.JitterEps > 0 && rng == nil {
		panic("router.Route: training with jitter needs a random generator")
	}
	if x.DType() == autograd.Float64 {
		return route[float64](r, tp, x, training, rng)
	}
	return route[float32](r, tp, x, training, rng)
}

// route scores, chooses the top k per token, applies capacity and builds the
// slot table with its combine weights.
func route[T autograd.Float](r *Router, tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *Routing {
	n, e, k := x.Dim(0), r.cfg.NumExperts, r.cfg.TopK
	if training && r.cfg.JitterEps > 0 {
		x = tp.Mul(x, jitter[T](tp, x, r.cfg.JitterEps, rng)) // [N, D]
	}
	logits := tp.MatMul(x, r.gate, false, true) // [N, E]
	if r.adapt != nil {
		logits = tp.Add(logits, r.adapt.Delta(tp, x, training, rng)) // [N, E]
	}
	sc := r.scorer.Score(tp, x, logits, training, rng)
	rt := &Routing{Logits: logits, Probs: sc.Probs, base: sc.Base}

	var bias []float32
	if r.cfg.ExpertBias {
		bias = r.bias
	}
	rt.Choices, rt.ChoiceOffsets = make([]int32, n*k), make([]int, n+1)
	selectTopK(autograd.Values[T](sc.Select), bias, sc.SigmoidBias && bias != nil, n, e, k, rt.Choices)
	tokenOf := make([]int32, n*k) // [C] token of each choice
	for tok := 0; tok < n; tok++ {
		rt.ChoiceOffsets[tok+1] = (tok + 1) * k
		for c := tok * k; c < (tok+1)*k; c++ {
			tokenOf[c] = int32(tok)
		}
	}

	rt.Capacity = capacity(r.cfg.CapacityFactor, n, k, e)
	var keep []bool // [C] nil when nothing is dropped
	keep, rt.Dropped = applyCapacity(autograd.Values[T](rt.Probs), rt.Choices, tokenOf, e, rt.Capacity)
	var choice []int32 // [M] choice index of each slot
	choice, rt.Token, rt.Expert, rt.Offsets = slotTable(rt.Choices, tokenOf, keep, e)

	// The k weights of a token sit in one row of w, so the softmax over the
	// row renormalises over the token's choices, dropped ones included (as
	// with capacity in Switch); the table then takes the kept ones.
	w := tp.TakeAlongLastAxis(sc.Combine, rt.Choices) // [N, K]
	if sc.Renormalize {
		w = tp.Softmax(w)
	}
	rt.Weight = tp.GatherRows(tp.Reshape(w, n*k, 1), choice) // [M, 1]
	return rt
}
