package autograd

import (
	"fmt"
	"math"
)

// RMSNorm normalises each row of x [..., D] by its root mean square and
// scales it by weight [D]: y = x · rsqrt(mean(x²) + eps) · weight. Row
// statistics are accumulated in float64 for both dtypes. It panics if weight
// is not [D] or the dtypes differ.
func (tp *Tape) RMSNorm(x, weight *Tensor, eps float64) *Tensor {
	mustSameDType("RMSNorm", x, weight)
	rows, d := nnRows("RMSNorm", x)
	if len(weight.shape) != 1 || weight.shape[0] != x.shape[len(x.shape)-1] {
		panic(fmt.Sprintf("autograd.RMSNorm: weight %v does not match x %v", weight.shape, x.shape))
	}
	out := tp.allocDirty(x.dtype, x.shape...)
	rstd := tp.alloc(Float64, rows) // [N] rsqrt(mean(x²) + eps) per row
	if x.dtype == Float64 {
		nnRMSNormOp[float64](tp, x, weight, out, rstd.f64, d, eps)
	} else {
		nnRMSNormOp[float32](tp, x, weight, out, rstd.f64, d, eps)
	}
	return out
}

func nnRMSNormOp[T Float](tp *Tape, x, weight, out *Tensor, rstd []float64, d int, eps float64) {
	xv, wv, yv := Values[T](x), Values[T](weight), Values[T](out)
	rows := len(rstd)
	parallelFor(rows, 2*d, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xv[r*d:(r+1)*d], yv[r*d:(r+1)*d]
			rs := 1 / math.Sqrt(nnDot(xr, xr)/float64(d)+eps)
			rstd[r] = rs
			s := T(rs)
			for i, v := range xr {
				yr[i] = v * s * wv[i]
			}
		}
	})
	tp.record(out, func() {
		dy := Grads[T](out)
		if x.requiresGrad {
			dx := gradOf[T](tp, x)
			parallelFor(rows, 4*d, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					xr, dyr, dxr := xv[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
					// With g = dy ⊙ w: dx = rs·g - rs³·x·<g, x>/D.
					var gx float64
					for i, v := range xr {
						gx += float64(dyr[i]) * float64(wv[i]) * float64(v)
					}
					rs := rstd[r]
					a, c := T(rs), T(rs*rs*rs*gx/float64(d))
					for i, v := range xr {
						dxr[i] += a*dyr[i]*wv[i] - c*v
					}
				}
			})
		}
		if weight.requiresGrad {
			// dw[i] = sum over rows of dy·x·rs. Workers own column ranges and
			// sum rows in order, so the result does not depend on them.
			dw := gradOf[T](tp, weight)
			acc := tp.alloc(Float64, d).f64 // [D]
			parallelFor(d, 2*rows, func(lo, hi int) {
				a := acc[lo:hi]
				for r, rs := range rstd {
					xr, dyr := xv[r*d+lo:r*d+hi], dy[r*d+lo:r*d+hi]
					for i, v := range xr {
						a[i] += float64(dyr[i]) * float64(v) * rs
					}
				}
				for i, v := range a {
					dw[lo+i] += T(v)
				}
			})
		}
	}, x, weight)
}
