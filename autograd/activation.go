package autograd

import (
	"fmt"
	"math"
)

// actCost and actCost32 are the approximate costs of one activation element
// relative to an add, for parallelFor's split decision: a float64 one pays
// for math.Exp, a float32 one runs in the vector kernels of activation_f32.go.
const (
	actCost   = 8
	actCost32 = 2
)

// Sigmoid returns 1 / (1 + exp(-x)) elementwise.
func (tp *Tape) Sigmoid(x *Tensor) *Tensor {
	out := tp.allocDirty(x.dtype, x.shape...)
	if x.dtype == Float64 {
		actSigmoidOp[float64](tp, x, out)
	} else {
		actSigmoidOp32(tp, x, out)
	}
	return out
}

// SiLU returns x * sigmoid(x) elementwise (also called swish).
func (tp *Tape) SiLU(x *Tensor) *Tensor {
	out := tp.allocDirty(x.dtype, x.shape...)
	if x.dtype == Float64 {
		actSiLUOp[float64](tp, x, out)
	} else {
		actSiLUOp32(tp, x, out)
	}
	return out
}

// SwiGLU returns silu(gate) * up elementwise, fused into one pass forward and
// one backward, without the intermediate silu(gate) tensor: the gated unit of
// a SwiGLU MLP, gate and up [N, F]. It panics if the shapes or dtypes differ.
func (tp *Tape) SwiGLU(gate, up *Tensor) *Tensor {
	mustSameDType("SwiGLU", gate, up)
	if !sameShape(gate.shape, up.shape) {
		panic(fmt.Sprintf("autograd.SwiGLU: gate %v and up %v differ in shape", gate.shape, up.shape))
	}
	out := tp.allocDirty(gate.dtype, gate.shape...)
	if gate.dtype == Float64 {
		actSwiGLUOp[float64](tp, gate, up, out)
	} else {
		actSwiGLUOp32(tp, gate, up, out)
	}
	return out
}

// The float64 ops below evaluate with math.Exp; the float32 ones (after
// them) call the kernels of activation_f32.go.

// actSigmoid returns 1 / (1 + exp(-x)). It saturates to 0 or 1 without
// overflow trouble: exp(-x) = +Inf gives exactly 0. Activations evaluate in
// float64 whatever the tensor dtype: scalar code pays nothing for it, and the
// derivatives below lose no digits to 1 - s when s is near 1.
func actSigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// actSigmoidGrad returns sigmoid'(x) = s (1 - s) as e / (1 + e)^2 with
// e = exp(-|x|), accurate in the tails where s rounds to 1.
func actSigmoidGrad(x float64) float64 {
	e := math.Exp(-math.Abs(x))
	return e / ((1 + e) * (1 + e))
}

// actSiLUGrad returns silu'(x) = s (1 + x (1 - s)) for s = sigmoid(x), and
// silu(x) = x s.
func actSiLUGrad(x float64) (grad, silu float64) {
	s := actSigmoid(x)
	return s * (1 + x*(1-s)), x * s
}

func actSigmoidOp[T Float](tp *Tape, x, out *Tensor) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(len(ov), actCost, func(lo, hi int) {
		for i, v := range xv[lo:hi] {
			ov[lo+i] = T(actSigmoid(float64(v)))
		}
	})
	tp.record("Sigmoid", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(len(g), actCost, func(lo, hi int) {
			for i, v := range xv[lo:hi] {
				gx[lo+i] += g[lo+i] * T(actSigmoidGrad(float64(v)))
			}
		})
	}, x)
}

func actSiLUOp[T Float](tp *Tape, x, out *Tensor) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(len(ov), actCost, func(lo, hi int) {
		for i, v := range xv[lo:hi] {
			ov[lo+i] = T(float64(v) * actSigmoid(float64(v)))
		}
	})
	tp.record("SiLU", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		// sigmoid(x) is recomputed rather than stored.
		tp.eng.parallelFor(len(g), actCost, func(lo, hi int) {
			for i, v := range xv[lo:hi] {
				d, _ := actSiLUGrad(float64(v))
				gx[lo+i] += g[lo+i] * T(d)
			}
		})
	}, x)
}

func actSwiGLUOp[T Float](tp *Tape, gate, up, out *Tensor) {
	gv, uv, ov := Values[T](gate), Values[T](up), Values[T](out)
	tp.eng.parallelFor(len(ov), actCost, func(lo, hi int) {
		u := uv[lo:hi]
		for i, v := range gv[lo:hi] {
			ov[lo+i] = T(float64(v)*actSigmoid(float64(v))) * u[i]
		}
	})
	tp.record("SwiGLU", out, func() {
		g := Grads[T](out)
		var dg, du []T
		if gate.requiresGrad {
			dg = gradOf[T](tp, gate)
		}
		if up.requiresGrad {
			du = gradOf[T](tp, up)
		}
		tp.eng.parallelFor(len(g), actCost, func(lo, hi int) {
			switch {
			case dg != nil && du != nil:
				actSwiGLUBoth(dg[lo:hi], du[lo:hi], g[lo:hi], gv[lo:hi], uv[lo:hi])
			case dg != nil:
				for i, v := range gv[lo:hi] {
					d, _ := actSiLUGrad(float64(v))
					dg[lo+i] += g[lo+i] * uv[lo+i] * T(d)
				}
			default:
				for i, v := range gv[lo:hi] {
					du[lo+i] += g[lo+i] * T(float64(v)*actSigmoid(float64(v)))
				}
			}
		})
	}, gate, up)
}

// actSwiGLUBoth accumulates both SwiGLU input gradients in one pass:
// dup += g silu(gate), dgate += g up silu'(gate).
func actSwiGLUBoth[T Float](dg, du, g, gv, uv []T) {
	dg, du, uv = dg[:len(gv)], du[:len(gv)], uv[:len(gv)]
	g = g[:len(gv)]
	for i, v := range gv {
		d, silu := actSiLUGrad(float64(v))
		du[i] += g[i] * T(silu)
		dg[i] += g[i] * uv[i] * T(d)
	}
}

func actSigmoidOp32(tp *Tape, x, out *Tensor) {
	xv, ov := Values[float32](x), Values[float32](out)
	tp.eng.parallelFor(len(ov), actCost32, func(lo, hi int) { sigmoidFwdF32(ov[lo:hi], xv[lo:hi]) })
	tp.record("Sigmoid", out, func() {
		g, gx := Grads[float32](out), gradOf[float32](tp, x)
		tp.eng.parallelFor(len(g), actCost32, func(lo, hi int) { sigmoidBwdF32(gx[lo:hi], g[lo:hi], xv[lo:hi]) })
	}, x)
}

func actSiLUOp32(tp *Tape, x, out *Tensor) {
	xv, ov := Values[float32](x), Values[float32](out)
	tp.eng.parallelFor(len(ov), actCost32, func(lo, hi int) { siluFwdF32(ov[lo:hi], xv[lo:hi]) })
	tp.record("SiLU", out, func() {
		g, gx := Grads[float32](out), gradOf[float32](tp, x)
		tp.eng.parallelFor(len(g), actCost32, func(lo, hi int) { siluBwdF32(gx[lo:hi], g[lo:hi], xv[lo:hi]) })
	}, x)
}

func actSwiGLUOp32(tp *Tape, gate, up, out *Tensor) {
	gv, uv, ov := Values[float32](gate), Values[float32](up), Values[float32](out)
	tp.eng.parallelFor(len(ov), actCost32, func(lo, hi int) { swigluFwdF32(ov[lo:hi], gv[lo:hi], uv[lo:hi]) })
	tp.record("SwiGLU", out, func() {
		g := Grads[float32](out)
		var dg, du []float32
		overwrite := false // both gradients still logically zero: written, not cleared and added to
		switch {
		case gate.requiresGrad && up.requiresGrad && gate != up:
			var bg, bu float32
			dg, bg = gradForOverwrite[float32](tp, gate)
			du, bu = gradForOverwrite[float32](tp, up)
			overwrite = bg == 0 && bu == 0
			if !overwrite && bg == 0 {
				tp.eng.clearParallel(dg)
			} else if !overwrite && bu == 0 {
				tp.eng.clearParallel(du)
			}
		default:
			if gate.requiresGrad {
				dg = gradOf[float32](tp, gate)
			}
			if up.requiresGrad {
				du = gradOf[float32](tp, up)
			}
		}
		tp.eng.parallelFor(len(g), actCost32, func(lo, hi int) {
			switch {
			case dg != nil && du != nil:
				swigluBwdF32(dg[lo:hi], du[lo:hi], g[lo:hi], gv[lo:hi], uv[lo:hi], overwrite)
			case dg != nil:
				swigluBwdGateF32(dg[lo:hi], g[lo:hi], gv[lo:hi], uv[lo:hi])
			default:
				swigluBwdUpF32(du[lo:hi], g[lo:hi], gv[lo:hi])
			}
		})
	}, gate, up)
}
