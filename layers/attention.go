package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Attention is causal multi-head self-attention with rotary position
// embeddings (HF rotate_half convention) and grouped-query attention: H query
// heads share Hkv key/value heads.
type Attention struct {
	Q, K, V, O     *Linear // Q [H*Dh, D], K and V [Hkv*Dh, D], O [D, H*Dh]
	Heads, KVHeads int
	HeadDim        int
	RopeTheta      float64
}

// NewAttention returns attention over width d with the given heads.
// It panics if d is not divisible by heads or heads by kvHeads.
func NewAttention(dt autograd.DType, name string, d, heads, kvHeads int, ropeTheta, std, outStd float64, rng *rand.Rand) *Attention {
	if d%heads != 0 || heads%kvHeads != 0 {
		panic(fmt.Sprintf("layers.NewAttention: d_model %d, heads %d, kv heads %d do not divide", d, heads, kvHeads))
	}
	dh := d / heads
	return &Attention{
		Q:         NewLinear(dt, name+".q_proj", d, heads*dh, std, rng),
		K:         NewLinear(dt, name+".k_proj", d, kvHeads*dh, std, rng),
		V:         NewLinear(dt, name+".v_proj", d, kvHeads*dh, std, rng),
		O:         NewLinear(dt, name+".o_proj", heads*dh, d, outStd, rng),
		Heads:     heads,
		KVHeads:   kvHeads,
		HeadDim:   dh,
		RopeTheta: ropeTheta,
	}
}

// Forward maps x [B*T, D] to [B*T, D]. With a cache (generation), keys and
// values of earlier positions come from it and this call's are appended; the
// queries sit at positions cache.Len().. onwards. training turns adapter
// dropout on, with randomness from rng.
func (a *Attention) Forward(tp *autograd.Tape, x *autograd.Tensor, b, t int, cache *KVCache, training bool, rng *rand.Rand) *autograd.Tensor {
	pos := 0
	if cache != nil {
		pos = cache.Len()
	}
	q := tp.Reshape(a.Q.forward(tp, x, training, rng), b, t, a.Heads, a.HeadDim)   // [B, T, H, Dh]
	k := tp.Reshape(a.K.forward(tp, x, training, rng), b, t, a.KVHeads, a.HeadDim) // [B, T, Hkv, Dh]
	v := tp.Reshape(a.V.forward(tp, x, training, rng), b, t, a.KVHeads, a.HeadDim) // [B, T, Hkv, Dh]
	q = tp.RoPE(q, a.RopeTheta, pos)
	k = tp.RoPE(k, a.RopeTheta, pos)
	if cache != nil {
		k, v = cache.Append(k, v) // [B, Tk, Hkv, Dh]
	}
	o := tp.Attention(q, k, v, true)                                             // [B, T, H, Dh]
	return a.O.forward(tp, tp.Reshape(o, b*t, a.Heads*a.HeadDim), training, rng) // [N, D]
}

// Params returns q, k, v, o weights.
func (a *Attention) Params() []*autograd.Tensor {
	return []*autograd.Tensor{a.Q.W, a.K.W, a.V.W, a.O.W}
}

// KVCache holds the rotated keys and values of earlier positions of one
// attention layer during generation. It owns its buffers, so it survives
// Tape.Reset between decoding steps. It is for no-grad use only.
type KVCache struct {
	b, hkv, dh int
	n          int         // positions cached
	k, v       [][]float32 // per batch row: [n, Hkv, Dh] flattened
	k64, v64   [][]float64
}

// Len returns the number of cached positions.
func (c *KVCache) Len() int { return c.n }

// Append adds k, v [B, T, Hkv, Dh] and returns the full keys and values
// [B, Tk, Hkv, Dh] (Tk = Len() after the call) as tape-owned tensors.
func (c *KVCache) Append(k, v *autograd.Tensor) (*autograd.Tensor, *autograd.Tensor) {
	b, t, hkv, dh := k.Dim(0), k.Dim(1), k.Dim(2), k.Dim(3)
	if c.k == nil && c.k64 == nil {
		c.b, c.hkv, c.dh = b, hkv, dh
		if k.DType() == autograd.Float64 {
			c.k64, c.v64 = make([][]float64, b), make([][]float64, b)
		} else {
			c.k, c.v = make([][]float32, b), make([][]float32, b)
		}
	}
	if b != c.b || hkv != c.hkv || dh != c.dh {
		panic(fmt.Sprintf("layers.KVCache: appending %v to a cache of [B=%d, Hkv=%d, Dh=%d]", k.Shape(), c.b, c.hkv, c.dh))
	}
	c.n += t
	if k.DType() == autograd.Float64 {
		return appendKV(c.k64, k.F64(), c, t), appendKV(c.v64, v.F64(), c, t)
	}
	return appendKV(c.k, k.F32(), c, t), appendKV(c.v, v.F32(), c, t)
}

func appendKV[T autograd.Float](rows [][]T, src []T, c *KVCache, t int) *autograd.Tensor {
	row := t * c.hkv * c.dh
	full := make([]T, 0, c.b*c.n*c.hkv*c.dh) // [B, Tk, Hkv, Dh]
	for i := range rows {
		rows[i] = append(rows[i], src[i*row:(i+1)*row]...)
		full = append(full, rows[i]...)
	}
	return autograd.FromSlice(full, c.b, c.n, c.hkv, c.dh)
}
