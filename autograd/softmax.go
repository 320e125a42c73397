package autograd

import (
	"fmt"
	"math"
)

// Softmax returns exp(x) / sum(exp(x)) along the last axis of x (any rank),
// computed stably by subtracting each row's maximum. The output has x's
// shape. It panics on a 0-D tensor.
func (tp *Tape) Softmax(x *Tensor) *Tensor {
	rows, cols := nnRows("Softmax", x)
	out := tp.allocDirty(x.dtype, x.shape...)
	if x.dtype == Float64 {
		nnSoftmaxOp[float64](tp, x, out, rows, cols)
	} else {
		nnSoftmaxOp[float32](tp, x, out, rows, cols)
	}
	return out
}

// LogSoftmax returns x - logsumexp(x) along the last axis of x (any rank),
// with x's shape. It panics on a 0-D tensor.
func (tp *Tape) LogSoftmax(x *Tensor) *Tensor {
	rows, cols := nnRows("LogSoftmax", x)
	out := tp.allocDirty(x.dtype, x.shape...)
	if x.dtype == Float64 {
		nnLogSoftmaxOp[float64](tp, x, out, rows, cols)
	} else {
		nnLogSoftmaxOp[float32](tp, x, out, rows, cols)
	}
	return out
}

// LogSumExp returns log(sum(exp(x))) along the last axis of x: x [..., C]
// gives [...]; a 1-D x gives [1]. An empty last axis gives -Inf. It panics
// on a 0-D tensor.
func (tp *Tape) LogSumExp(x *Tensor) *Tensor {
	rows, cols := nnRows("LogSumExp", x)
	shape := x.shape[:len(x.shape)-1]
	if len(shape) == 0 {
		shape = []int{1}
	}
	out := tp.allocDirty(x.dtype, shape...)
	if cols == 0 { // the log of an empty sum
		for i := range out.Len() {
			out.Set(i, math.Inf(-1))
		}
		return out
	}
	if x.dtype == Float64 {
		nnLogSumExpOp[float64](tp, x, out, rows, cols)
	} else {
		nnLogSumExpOp[float32](tp, x, out, rows, cols)
	}
	return out
}

func nnSoftmaxOp[T Float](tp *Tape, x, out *Tensor, rows, cols int) {
	xv, yv := Values[T](x), Values[T](out)
	tp.eng.parallelFor(rows, 8*cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xv[r*cols:(r+1)*cols], yv[r*cols:(r+1)*cols]
			inv := T(1 / nnExpShift(yr, xr, nnRowMax(xr)))
			for i := range yr {
				yr[i] *= inv
			}
		}
	})
	tp.record("Softmax", out, func() {
		dy, dx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(rows, 4*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				yr, dyr, dxr := yv[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
				dot := T(nnDot(yr, dyr)) // dx = y ⊙ (dy - <y, dy>)
				for i, y := range yr {
					dxr[i] += y * (dyr[i] - dot)
				}
			}
		})
	}, x)
}

func nnLogSoftmaxOp[T Float](tp *Tape, x, out *Tensor, rows, cols int) {
	xv, yv := Values[T](x), Values[T](out)
	tp.eng.parallelFor(rows, 8*cols, func(lo, hi int) {
		var buf []T // exponentials of one row
		for r := lo; r < hi; r++ {
			xr, yr := xv[r*cols:(r+1)*cols], yv[r*cols:(r+1)*cols]
			lse := T(nnLogSumExpRow(xr, &buf))
			for i, v := range xr {
				yr[i] = v - lse
			}
		}
	})
	tp.record("LogSoftmax", out, func() {
		dy, dx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(rows, 8*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				yr, dyr, dxr := yv[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
				sum := T(nnSum(dyr)) // dx = dy - softmax(x) · sum(dy)
				for i, y := range yr {
					dxr[i] += dyr[i] - nnExp(y)*sum
				}
			}
		})
	}, x)
}

func nnLogSumExpOp[T Float](tp *Tape, x, out *Tensor, rows, cols int) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(rows, 8*cols, func(lo, hi int) {
		var buf []T // exponentials of one row
		for r := lo; r < hi; r++ {
			ov[r] = T(nnLogSumExpRow(xv[r*cols:(r+1)*cols], &buf))
		}
	})
	tp.record("LogSumExp", out, func() {
		dy, dx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(rows, 8*cols, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				xr, dxr := xv[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
				lse, g := ov[r], dy[r] // dx = dy · softmax(x)
				for i, v := range xr {
					dxr[i] += g * nnExp(v-lse)
				}
			}
		})
	}, x)
}

// nnRows splits x into rows along its last axis: rows x cols = x.Len().
func nnRows(op string, x *Tensor) (rows, cols int) {
	if len(x.shape) == 0 {
		panic(fmt.Sprintf("autograd.%s: 0-D tensor has no last axis", op))
	}
	cols = x.shape[len(x.shape)-1]
	if cols == 0 {
		return 0, 0
	}
	return x.Len() / cols, cols
}

// nnRowMax returns the largest element of a non-empty row (NaN if the first
// element is NaN; later NaNs are skipped, and propagate through the sum).
func nnRowMax[T Float](x []T) T { return attnRowMax(x[1:], x[0]) }

// nnExpShift writes dst[i] = exp(src[i] - m) and returns the sum of dst,
// accumulated in float64.
func nnExpShift[T Float](dst, src []T, m T) float64 {
	if d32, ok := any(dst).([]float32); ok { // vector kernel
		return expSubSumF32(d32[:len(src)], any(src).([]float32), float32(m))
	}
	dst = dst[:len(src)]
	var s float64
	for i, v := range src {
		e := nnExp(v - m)
		dst[i] = e
		s += float64(e)
	}
	return s
}

// nnLogSumExpRow returns log(sum(exp(x))) of a row, stably, in float64,
// with *buf (grown as needed) as scratch for the exponentials, so that
// float32 rows take the vector kernel (nnExpShift). A row whose maximum is
// infinite gives that infinity, an empty row -Inf.
func nnLogSumExpRow[T Float](x []T, buf *[]T) float64 {
	if len(x) == 0 {
		return math.Inf(-1)
	}
	m := nnRowMax(x)
	if math.IsInf(float64(m), 0) {
		return float64(m)
	}
	if cap(*buf) < len(x) {
		*buf = make([]T, len(x))
	}
	return float64(m) + math.Log(nnExpShift((*buf)[:len(x)], x, m))
}

// nnDot returns <a, b> accumulated in float64.
func nnDot[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64 // independent sums: four multiply-adds in flight
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
		s2 += float64(a[i+2]) * float64(b[i+2])
		s3 += float64(a[i+3]) * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s2) + (s1 + s3)
}

// nnSum returns the sum of x accumulated in float64.
func nnSum[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}
