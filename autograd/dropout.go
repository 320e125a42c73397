package autograd

import (
	"fmt"
	"math/rand/v2"
)

// Dropout zeroes each element of x with probability p and scales the kept ones
// by 1/(1-p) (inverted dropout, so the expected value is unchanged and eval
// needs no rescaling). With p == 0 it returns x itself and records nothing.
// The mask is drawn from rng (32 random bits per element, two elements per
// draw) and kept for backward, which passes gradients through the kept
// elements with the same scale. It panics unless 0 <= p < 1.
func (tp *Tape) Dropout(x *Tensor, p float64, rng *rand.Rand) *Tensor {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("autograd.Dropout: probability %v outside [0, 1)", p))
	}
	if p == 0 {
		return x
	}
	out := tp.alloc(x.dtype, x.shape...)
	if x.dtype == Float64 {
		dropoutOp[float64](tp, x, out, p, rng)
	} else {
		dropoutOp[float32](tp, x, out, p, rng)
	}
	return out
}

func dropoutOp[T Float](tp *Tape, x, out *Tensor, p float64, rng *rand.Rand) {
	xv, ov := Values[T](x), Values[T](out)
	scale := T(1 / (1 - p))
	var mask []T // scale where kept, 0 where dropped; only when backward needs it
	if tp.grad && x.requiresGrad {
		mask = Values[T](tp.alloc(x.dtype, x.shape...))
	}
	// An element is dropped when its 32 random bits fall below p * 2^32.
	thresh := uint64(p * (1 << 32))
	var bits uint64
	for i, v := range xv {
		if i&1 == 0 {
			bits = rng.Uint64()
		} else {
			bits >>= 32
		}
		m := scale
		if bits&0xffffffff < thresh {
			m = 0
		}
		ov[i] = v * m
		if mask != nil {
			mask[i] = m
		}
	}
	if mask == nil {
		return
	}
	tp.record("Dropout", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(len(g), 1, func(lo, hi int) { ewMulAccRow(gx[lo:hi], 1, g[lo:hi], mask[lo:hi], 1) })
	}, x)
}
