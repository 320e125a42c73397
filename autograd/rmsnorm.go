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
	tp.eng.parallelFor(rows, 2*d, func(lo, hi int) {
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
	tp.record("RMSNorm", out, func() {
		dy := Grads[T](out)
		var dx, dw []T
		if x.requiresGrad {
			dx = gradOf[T](tp, x)
		}
		var partial []float64 // [blocks, D] dw sums of each block of rows
		blocks := (rows + rmsBlockRows - 1) / rmsBlockRows
		if weight.requiresGrad {
			dw = gradOf[T](tp, weight)
			partial = tp.alloc(Float64, blocks*d).f64
		}
		// One pass over the rows: dx row by row, and dw summed per fixed
		// block of rows, then the blocks in order, so the result depends
		// neither on the cores nor on which core took which block.
		tp.eng.parallelFor(blocks, rmsBlockRows*6*d, func(lo, hi int) {
			for blk := lo; blk < hi; blk++ {
				var acc []float64
				if partial != nil {
					acc = partial[blk*d : (blk+1)*d]
				}
				for r := blk * rmsBlockRows; r < min((blk+1)*rmsBlockRows, rows); r++ {
					rmsNormBackwardRow(dx, acc, dy[r*d:(r+1)*d], xv[r*d:(r+1)*d], wv, r, rstd[r])
				}
			}
		})
		if dw != nil {
			tp.eng.parallelFor(d, 2*blocks, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					var s float64
					for blk := range blocks {
						s += partial[blk*d+i]
					}
					dw[i] += T(s)
				}
			})
		}
	}, x, weight)
}

// rmsBlockRows is how many rows one partial sum of the weight gradient
// covers.
const rmsBlockRows = 64

// rmsLanes is how many running sums <g, x> is accumulated in: two AVX-512
// registers of float64.
const rmsLanes = 16

// rmsNormBackwardRow adds row r's share to dx (when not nil) and to the
// block's weight-gradient sums acc (when not nil). With g = dy ⊙ w:
// dx = rs·g - rs³·x·<g, x>/D and dw += dy·x·rs. For float32 rows the vector
// kernels (rmsnorm_amd64.s) do what their widths allow and the loops the
// rest, with the same roundings: <g, x> in 16 float64 lanes (element i in
// lane i mod 16, combined in a fixed tree), and explicit conversions that
// forbid fused multiply-adds.
func rmsNormBackwardRow[T Float](dx []T, acc []float64, dyr, xr, wv []T, r int, rs float64) {
	d := len(xr)
	dyr, wv = dyr[:d], wv[:d]
	dy32, is32 := any(dyr).([]float32)
	var x32, w32 []float32
	if is32 {
		x32, w32 = any(xr).([]float32), any(wv).([]float32)
	}
	if dx != nil {
		var lanes [rmsLanes]float64
		done := 0
		if is32 {
			done = rmsDotVec32(dy32, w32, x32, &lanes)
		}
		for i := done; i < d; i++ {
			lanes[i%rmsLanes] += float64(float64(dyr[i])*float64(wv[i])) * float64(xr[i])
		}
		for w := rmsLanes / 2; w > 0; w /= 2 {
			for l := 0; l < w; l++ {
				lanes[l] += lanes[l+w]
			}
		}
		gx := lanes[0]
		a, c := T(rs), T(rs*rs*rs*gx/float64(d))
		dxr := dx[r*d : (r+1)*d]
		done = 0
		if is32 {
			done = rmsDxVec32(any(dxr).([]float32), dy32, w32, x32, float32(a), float32(c))
		}
		for i := done; i < d; i++ {
			dxr[i] += T(T(a*dyr[i])*wv[i]) - T(c*xr[i])
		}
	}
	if acc != nil {
		acc = acc[:d]
		done := 0
		if is32 {
			done = rmsAccVec32(acc, dy32, x32, rs)
		}
		for i := done; i < d; i++ {
			acc[i] += float64(float64(dyr[i])*float64(xr[i])) * rs
		}
	}
}
