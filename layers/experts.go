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
	// LoRA1, LoRA3 and LoRA2 adapt W1, W3 and W2 with one adapter per expert
	// (AttachLoRA); nil unless adapted.
	LoRA1, LoRA3, LoRA2 *LoRA
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
// [M, D]: one GEMM per expert and projection (and two more per adapted
// projection). training turns adapter dropout on, with randomness from rng.
func (x *Experts) Forward(tp *autograd.Tape, permuted *autograd.Tensor, offsets []int, training bool, rng *rand.Rand) *autograd.Tensor {
	g := groupedLinear(tp, permuted, x.W1, x.LoRA1, offsets, training, rng) // [M, F]
	u := groupedLinear(tp, permuted, x.W3, x.LoRA3, offsets, training, rng) // [M, F]
	return groupedLinear(tp, tp.SwiGLU(g, u), x.W2, x.LoRA2, offsets, training, rng)
}

// groupedLinear maps x [M, In] by the per-expert weights w [E, Out, In] and
// adds the adapter's term when lora is not nil (in one op: LoRA.Grouped):
// [M, Out].
func groupedLinear(tp *autograd.Tape, x, w *autograd.Tensor, lora *LoRA, offsets []int, training bool, rng *rand.Rand) *autograd.Tensor {
	if lora == nil {
		return tp.GroupedMatMul(x, w, offsets)
	}
	return lora.Grouped(tp, x, w, offsets, training, rng)
}

// Params returns w1, w3, w2 (not the adapters': see Model.Adapters).
func (x *Experts) Params() []*autograd.Tensor {
	return []*autograd.Tensor{x.W1, x.W3, x.W2}
}
