package layers

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Experts holds E SwiGLU expert MLPs in stacked weights and runs each on
// exactly its own tokens: the third step of the MoE layer. It knows nothing of
// routing or communication.
type Experts struct {
	W1 *autograd.Tensor // gate [E, F, D]
	W3 *autograd.Tensor // up   [E, F, D]
	W2 *autograd.Tensor // down [E, D, F]
}

// NewExperts returns e experts of width d and hidden width f.
func NewExperts(dt autograd.DType, name string, e, d, f int, std, outStd float64, rng *rand.Rand) *Experts {
	return &Experts{
		W1: newNormalParam(dt, name+".w1", rng, std, e, f, d),
		W3: newNormalParam(dt, name+".w3", rng, std, e, f, d),
		W2: newNormalParam(dt, name+".w2", rng, outStd, e, d, f),
	}
}

// Count returns the number of experts.
func (x *Experts) Count() int { return x.W1.Dim(0) }

// Forward maps permuted [M, D], grouped by expert with row offsets [E+1], to
// [M, D]: one GEMM per expert and projection.
func (x *Experts) Forward(tp *autograd.Tape, permuted *autograd.Tensor, offsets []int) *autograd.Tensor {
	g := tp.GroupedMatMul(permuted, x.W1, offsets) // [M, F]
	u := tp.GroupedMatMul(permuted, x.W3, offsets) // [M, F]
	return tp.GroupedMatMul(tp.SwiGLU(g, u), x.W2, offsets)
}

// Params returns w1, w3, w2.
func (x *Experts) Params() []*autograd.Tensor {
	return []*autograd.Tensor{x.W1, x.W3, x.W2}
}
