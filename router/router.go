package router

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Router holds a router's parameters and its expert-bias state. One Router
// serves one MoE layer; it is used by one goroutine at a time.
type Router struct {
	cfg   Config
	d     int              // D
	gate  *autograd.Tensor // [E, D] logits = x · gate^T (the HF nn.Linear layout)
	noise *autograd.Tensor // [E, D] noisy_topk noise weight; nil for other types
	bias  []float32        // [E] selection-only expert bias
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
	if cfg.Type == NoisyTopK {
		r.noise = autograd.NewParam(dt, "noise", cfg.NumExperts, dModel)
	}
	return r, nil
}

// Config returns the router's configuration.
func (r *Router) Config() Config { return r.cfg }

// Params returns the trainable parameters: the gate weight "gate" [E, D] and,
// for noisy_topk, the noise weight "noise" [E, D].
func (r *Router) Params() []*autograd.Tensor {
	if r.noise != nil {
		return []*autograd.Tensor{r.gate, r.noise}
	}
	return []*autograd.Tensor{r.gate}
}

// Routing is the router's decision for one batch of N tokens. Its tensors
// live on the tape Route ran on; its slices are owned by the Routing.
type Routing struct {
	Logits  *autograd.Tensor // [N, E] router logits (the z-loss input)
	Probs   *autograd.Tensor // [N, E] per-token expert distribution (the load-balancing input)
	Weights *autograd.Tensor // [N, K] combine weights; a dropped slot's weight is 0
	// Experts is the chosen expert of each slot, [N*K]: slot s is token s/K's
	// choice s%K, choices in descending score order. Dropped slots keep their
	// choice here (the load-balancing loss counts them).
	Experts         []int32
	TokensPerExpert []int // [E] kept slots per expert
	Dropped         int   // slots dropped by capacity
	Capacity        int   // slots per expert; 0 when dropless
	// Order lists the kept slots grouped by expert, ascending slot index
	// within each group: the permutation plan.
	Order []int32 // [M - Dropped]
	// Offsets bounds the groups: expert e's slots are Order[Offsets[e]:Offsets[e+1]].
	Offsets []int // [E+1]

	scores *autograd.Tensor // [N, E] Probs = softmax(scores) per row
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
	needRNG := training && (r.cfg.JitterEps > 0 || r.cfg.Type == NoisyTopK)
	if needRNG && rng == nil {
		panic("router.Route: training with jitter or noise needs a random generator")
	}
	if x.DType() == autograd.Float64 {
		return route[float64](r, tp, x, training, rng)
	}
	return route[float32](r, tp, x, training, rng)
}

// route builds the differentiable scores, chooses experts, applies capacity
// and builds the plan.
func route[T autograd.Float](r *Router, tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *Routing {
	n, e, k := x.Dim(0), r.cfg.NumExperts, r.cfg.TopK
	if training && r.cfg.JitterEps > 0 {
		x = tp.Mul(x, jitter[T](tp, x, r.cfg.JitterEps, rng)) // [N, D]
	}
	logits := tp.MatMul(x, r.gate, false, true) // [N, E]
	rt := &Routing{Logits: logits, Experts: make([]int32, n*k)}

	// sel are the scores experts are chosen by (before the bias); wsrc is the
	// tensor the combine weights are gathered from, softmaxed over the k
	// choices when soft is set.
	var sel, wsrc *autograd.Tensor
	soft, sigmoidSel := true, false
	switch r.cfg.Type {
	case TopKSoftmax:
		rt.Probs, rt.scores = tp.Softmax(logits), logits // [N, E]
		sel, wsrc = rt.Probs, logits
		if r.cfg.PreSoftmax {
			sel = logits
		} else if !r.cfg.Normalize {
			wsrc, soft = rt.Probs, false
		}
		// Renormalising the chosen probs p_i / sum_j p_j equals the softmax
		// over the chosen logits, which needs no division op.
	case Sigmoid:
		logSig := logSigmoid(tp, logits)                 // [N, E]
		rt.Probs, rt.scores = tp.Softmax(logSig), logSig // [N, E] = s / sum(s) per token
		// s_i / sum_j s_j over the chosen = softmax of the chosen log s.
		sel, wsrc, sigmoidSel = logits, logSig, true
	case NoisyTopK:
		h := logits // [N, E]
		if training {
			h = tp.Add(logits, noiseTerm[T](tp, x, r.noise, r.cfg.NoiseStd, rng))
		}
		rt.Probs, rt.scores = tp.Softmax(h), h // [N, E]
		sel, wsrc = rt.Probs, h
	}
	var bias []float32
	if r.cfg.ExpertBias {
		bias = r.bias
	} else {
		sigmoidSel = false // sigmoid is monotone: without a bias the logits rank alike
	}
	selectTopK(autograd.Values[T](sel), bias, sigmoidSel, n, e, k, rt.Experts)

	rt.Capacity = capacity(r.cfg.CapacityFactor, n, k, e)
	var keep []bool // [M] nil when nothing is dropped
	keep, rt.Dropped = applyCapacity(autograd.Values[T](rt.Probs), rt.Experts, n, e, k, rt.Capacity)
	rt.Order, rt.Offsets, rt.TokensPerExpert = plan(rt.Experts, keep, e)

	w := tp.TakeAlongLastAxis(wsrc, rt.Experts) // [N, K]
	if soft {
		w = tp.Softmax(w)
	}
	if keep != nil {
		mask := tp.Alloc(x.DType(), n, k) // [N, K] 1 kept, 0 dropped
		mv := autograd.Values[T](mask)
		for s, kept := range keep {
			if kept {
				mv[s] = 1
			}
		}
		w = tp.Mul(w, mask)
	}
	rt.Weights = w
	return rt
}
