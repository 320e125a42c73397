package layers

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// MLP is the SwiGLU feed-forward block: w2(silu(w1 x) * w3 x).
type MLP struct {
	W1 *Linear // gate: [F, D]
	W3 *Linear // up:   [F, D]
	W2 *Linear // down: [D, F]
}

// NewMLP returns a SwiGLU MLP of width d and hidden width f; the output
// projection uses outStd (scaled down with depth).
func NewMLP(dt autograd.DType, name string, d, f int, std, outStd float64, rng *rand.Rand) *MLP {
	return &MLP{
		W1: NewLinear(dt, name+".w1", d, f, std, rng),
		W3: NewLinear(dt, name+".w3", d, f, std, rng),
		W2: NewLinear(dt, name+".w2", f, d, outStd, rng),
	}
}

// Forward maps x [N, D] to [N, D]. training turns adapter dropout on, with
// randomness from rng.
func (m *MLP) Forward(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	h := tp.SwiGLU(m.W1.forward(tp, x, training, rng), m.W3.forward(tp, x, training, rng)) // [N, F]
	return m.W2.forward(tp, h, training, rng)
}

// Params returns w1, w3, w2.
func (m *MLP) Params() []*autograd.Tensor {
	return []*autograd.Tensor{m.W1.W, m.W3.W, m.W2.W}
}
