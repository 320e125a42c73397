package layers

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Block is one pre-norm transformer layer:
// h = x + Attention(RMSNorm(x)); y = h + FFN(RMSNorm(h)), where FFN is a dense
// MLP or an MoE layer.
type Block struct {
	AttnNorm *RMSNorm
	Attn     *Attention
	FFNNorm  *RMSNorm
	MLP      *MLP    // dense FFN; nil on MoE layers
	MoE      *MoE    // nil on dense layers
	Dropout  float64 // residual-branch dropout probability in training
}

// Forward maps x [N, D] (N = b*t) to [N, D]. On an MoE layer it also returns
// the routing; on a dense layer the routing is nil.
func (blk *Block) Forward(tp *autograd.Tape, x *autograd.Tensor, b, t int, cache *KVCache, training bool, rng *rand.Rand) (*autograd.Tensor, *router.Routing) {
	h := tp.Add(x, blk.dropout(tp, blk.Attn.Forward(tp, blk.AttnNorm.Forward(tp, x), b, t, cache, training, rng), training, rng))
	z := blk.FFNNorm.Forward(tp, h)
	if blk.MoE == nil {
		return tp.Add(h, blk.dropout(tp, blk.MLP.Forward(tp, z, training, rng), training, rng)), nil
	}
	y, rt := blk.MoE.Forward(tp, z, training, rng)
	return tp.Add(h, blk.dropout(tp, y, training, rng)), rt
}

// dropout applies residual-branch dropout in training.
func (blk *Block) dropout(tp *autograd.Tape, y *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	if !training || blk.Dropout == 0 {
		return y
	}
	return tp.Dropout(y, blk.Dropout, rng)
}

// Params returns the block's parameters in a fixed order.
func (blk *Block) Params() []*autograd.Tensor {
	ps := append(blk.AttnNorm.Params(), blk.Attn.Params()...)
	ps = append(ps, blk.FFNNorm.Params()...)
	if blk.MoE != nil {
		return append(ps, blk.MoE.Params()...)
	}
	return append(ps, blk.MLP.Params()...)
}
