package layers

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Linear is y = x · W^T without bias, W in the nn.Linear layout, plus its
// LoRA adapter's term when one is attached (AttachLoRA).
type Linear struct {
	W    *autograd.Tensor // [Out, In]
	LoRA *LoRA            // nil unless adapted
}

// NewLinear returns a Linear with N(0, std²) weights.
func NewLinear(dt autograd.DType, name string, in, out int, std float64, rng *rand.Rand) *Linear {
	return &Linear{W: newNormalParam(dt, name+".weight", rng, std, out, in)}
}

// Forward maps x [N, In] to [N, Out], as in evaluation (no adapter dropout).
func (l *Linear) Forward(tp *autograd.Tape, x *autograd.Tensor) *autograd.Tensor {
	return l.forward(tp, x, false, nil)
}

// forward is Forward with the adapter's dropout on in training.
func (l *Linear) forward(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	y := tp.MatMul(x, l.W, false, true) // [N, Out]
	if l.LoRA == nil {
		return y
	}
	return tp.Add(y, l.LoRA.Delta(tp, x, training, rng))
}

// Params returns the weight (not the adapter's: see Model.Adapters).
func (l *Linear) Params() []*autograd.Tensor { return []*autograd.Tensor{l.W} }

// Embedding maps token ids to rows of a table.
type Embedding struct {
	Table *autograd.Tensor // [V, D]
}

// NewEmbedding returns an embedding with N(0, std²) rows.
func NewEmbedding(dt autograd.DType, name string, vocab, d int, std float64, rng *rand.Rand) *Embedding {
	return &Embedding{Table: newNormalParam(dt, name+".weight", rng, std, vocab, d)}
}

// Forward looks up ids [N] and returns [N, D].
func (e *Embedding) Forward(tp *autograd.Tape, ids []int32) *autograd.Tensor {
	return tp.Embedding(e.Table, ids)
}

// Params returns the table.
func (e *Embedding) Params() []*autograd.Tensor { return []*autograd.Tensor{e.Table} }

// RMSNorm is y = x / rms(x) * w over the last axis.
type RMSNorm struct {
	W   *autograd.Tensor // [D]
	Eps float64
}

// NewRMSNorm returns a norm with unit weights.
func NewRMSNorm(dt autograd.DType, name string, d int, eps float64) *RMSNorm {
	return &RMSNorm{W: newOnesParam(dt, name+".weight", d), Eps: eps}
}

// Forward normalises x [..., D].
func (n *RMSNorm) Forward(tp *autograd.Tape, x *autograd.Tensor) *autograd.Tensor {
	return tp.RMSNorm(x, n.W, n.Eps)
}

// Params returns the weight.
func (n *RMSNorm) Params() []*autograd.Tensor { return []*autograd.Tensor{n.W} }
