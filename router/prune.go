package router

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Masked returns a router that routes as r would if only the experts keep
// (ascending, distinct, in [0, E)) existed. It adds -Inf to the logits of
// every other expert before scoring, so that no softmax or normalisation
// over the experts gives them weight and they are never chosen, and, with an
// expert bias, sets their bias to -Inf too, so that a bias cannot choose
// them either. TopK becomes min(TopK, len(keep)) and the capacity factor is
// scaled by E/len(keep), so that each expert's capacity is what a router of
// len(keep) experts gives. The masked router therefore routes exactly as the
// router of a model whose dropped experts' rows were deleted, with the kept
// experts under their old indices: Routing.Offsets still has E+1 entries,
// empty for the dropped experts.
//
// The masked router shares r's gate, scorer parameters and gate adapter and
// copies its bias; UpdateBias on it does nothing. It is meant for
// evaluation, such as choosing which experts to prune.
func (r *Router) Masked(keep []int) (*Router, error) {
	e := r.cfg.NumExperts
	if len(keep) == 0 {
		return nil, fmt.Errorf("router: masking all %d experts leaves none to route to: keep at least one", e)
	}
	mask := make([]float64, e) // [E] 0 for kept experts, -Inf for the dropped
	for i := range mask {
		mask[i] = math.Inf(-1)
	}
	for i, ex := range keep {
		if ex < 0 || ex >= e {
			return nil, fmt.Errorf("router: kept expert %d outside [0, %d)", ex, e)
		}
		if i > 0 && ex <= keep[i-1] {
			return nil, fmt.Errorf("router: kept experts %v are not ascending and distinct (%d after %d)", keep, ex, keep[i-1])
		}
		mask[ex] = 0
	}
	m := *r
	m.cfg.TopK = min(r.cfg.TopK, len(keep))
	m.cfg.CapacityFactor = r.cfg.CapacityFactor * float64(e) / float64(len(keep))
	m.cfg.BiasUpdateRate = 0
	m.bias = make([]float32, e)
	for i, v := range mask {
		m.bias[i] = r.bias[i] + float32(v)
	}
	m.adapt = maskAdapter{inner: r.adapt, mask: mask}
	return &m, nil
}

// maskAdapter adds a fixed mask [E] to the gate logits, after the term of
// the adapter it wraps (nil for none).
type maskAdapter struct {
	inner GateAdapter
	mask  []float64 // [E] 0 for kept experts, -Inf for dropped ones
}

// Delta returns the inner adapter's term plus the mask, [N, E], or the mask
// alone as [E], which the logits [N, E] broadcast over.
func (a maskAdapter) Delta(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	m := tp.Alloc(x.DType(), len(a.mask)) // [E]
	for i, v := range a.mask {
		m.Set(i, v)
	}
	if a.inner == nil {
		return m
	}
	return tp.Add(a.inner.Delta(tp, x, training, rng), m) // [N, E]
}
