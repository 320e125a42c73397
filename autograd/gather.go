package autograd

import "fmt"

// GatherRows returns the rows of x [N, ...] picked by idx: out[i] = x[idx[i]],
// shape [len(idx), ...] (for x [N, D], out is [len(idx), D]). Indices may
// repeat; the gradient of a repeated row is the sum over its copies. idx is
// kept for Backward and must not change before it. It panics on a 0-D x or
// an index outside [0, N).
func (tp *Tape) GatherRows(x *Tensor, idx []int32) *Tensor {
	return tp.nnGatherRows("GatherRows", x, idx)
}

// ScatterAddRows returns out [n, ...] with out[idx[i]] += src[i] for every row
// i of src [M, ...] (for src [M, D], out is [n, D]); rows of out that no index
// names are zero. It is the adjoint of GatherRows: its gradient is a gather.
// idx is kept for Backward and must not change before it. It panics on a
// 0-D src, len(idx) != M, n < 0, or an index outside [0, n).
func (tp *Tape) ScatterAddRows(src *Tensor, idx []int32, n int) *Tensor {
	if len(src.shape) == 0 || len(idx) != src.shape[0] || n < 0 {
		panic(fmt.Sprintf("autograd.ScatterAddRows: src %v with %d indices into %d rows", src.shape, len(idx), n))
	}
	nnCheckIndex("ScatterAddRows", idx, n)
	out := tp.alloc(src.dtype, append([]int{n}, src.shape[1:]...)...)
	d := nnRowWidth(src)
	if src.dtype == Float64 {
		nnScatterAddRowsOp[float64](tp, src, out, idx, d)
	} else {
		nnScatterAddRowsOp[float32](tp, src, out, idx, d)
	}
	return out
}

// ScatterAddRowsWeighted returns out [n, ...] with out[idx[i]] += w[i]·src[i]
// for every row i of src [M, ...], w holding one weight per row (M elements,
// any shape): ScatterAddRows(Mul(src, w as [M, 1]), idx, n) in one pass, with
// the same result bit for bit. It is MoE's combine step (each expert output
// row weighted by its routing weight and summed into its token), and it
// saves the weighted copy of src and its gradient; w's gradient sums its
// products in four running sums (nnDot4), so it differs from Mul's in the
// last bits. idx is kept for Backward
// and must not change before it. It panics as ScatterAddRows does, and when
// w's dtype differs from src's or w has not M elements.
func (tp *Tape) ScatterAddRowsWeighted(src, w *Tensor, idx []int32, n int) *Tensor {
	mustSameDType("ScatterAddRowsWeighted", src, w)
	if len(src.shape) == 0 || len(idx) != src.shape[0] || w.Len() != len(idx) || n < 0 {
		panic(fmt.Sprintf("autograd.ScatterAddRowsWeighted: src %v and weights %v with %d indices into %d rows", src.shape, w.shape, len(idx), n))
	}
	nnCheckIndex("ScatterAddRowsWeighted", idx, n)
	out := tp.alloc(src.dtype, append([]int{n}, src.shape[1:]...)...)
	d := nnRowWidth(src)
	if src.dtype == Float64 {
		nnScatterAddWeightedOp[float64](tp, src, w, out, idx, d)
	} else {
		nnScatterAddWeightedOp[float32](tp, src, w, out, idx, d)
	}
	return out
}

func nnScatterAddWeightedOp[T Float](tp *Tape, src, w, out *Tensor, idx []int32, d int) {
	sv, wv := Values[T](src), Values[T](w)
	nnScatterAdd(tp.eng, Values[T](out), sv, wv, idx, d, out.shape[0])
	tp.record("ScatterAddRowsWeighted", out, func() {
		g := Grads[T](out)
		var dsrc, dw []T
		beta := T(1)
		if src.requiresGrad {
			dsrc, beta = gradForOverwrite[T](tp, src)
		}
		if w.requiresGrad {
			dw = gradOf[T](tp, w)
		}
		// Row i reads row idx[i] of g once for both gradients:
		// dsrc[i] = w[i]·g[idx[i]] (written over a still-zero gradient) and
		// dw[i] += Σ_j g[idx[i], j]·src[i, j] (nnDot4).
		tp.eng.parallelFor(len(idx), d, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gr := g[int(idx[i])*d:][:d]
				if dsrc != nil {
					o, wi := dsrc[i*d:][:d], wv[i]
					if beta == 0 {
						for j, v := range gr {
							o[j] = v * wi
						}
					} else {
						for j, v := range gr {
							o[j] += T(v * wi)
						}
					}
				}
				if dw != nil {
					dw[i] += nnDot4(gr, sv[i*d:][:d])
				}
			}
		})
	}, src, w)
}

// nnDot4 returns Σ x[j]·y[j] (len(y) >= len(x)) summed in four running sums,
// j mod 4, added pairwise at the end: the four chains of additions run side
// by side where one would wait on each add's latency (the combine's weight
// gradient, a 256-long dot per routed token, ran 4 cycles an element). Each
// product is rounded before it is added.
func nnDot4[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		s0 += T(x[j] * y[j])
		s1 += T(x[j+1] * y[j+1])
		s2 += T(x[j+2] * y[j+2])
		s3 += T(x[j+3] * y[j+3])
	}
	for ; j < len(x); j++ {
		s0 += T(x[j] * y[j])
	}
	return (s0 + s1) + (s2 + s3)
}

// TakeAlongLastAxis picks K elements from each row of x [..., C]: with R
// rows, idx holds R*K column indices (row-major [R, K]) and out[r, k] =
// x[r, idx[r*K+k]], shape [..., K]. Columns may repeat within a row. idx is
// kept for Backward and must not change before it. It panics on a 0-D x, a
// len(idx) that is not a multiple of R, or an index outside [0, C).
func (tp *Tape) TakeAlongLastAxis(x *Tensor, idx []int32) *Tensor {
	if len(x.shape) == 0 {
		panic("autograd.TakeAlongLastAxis: 0-D tensor has no last axis")
	}
	rows, cols := numel(x.shape[:len(x.shape)-1]), x.shape[len(x.shape)-1]
	k := 0
	switch {
	case rows > 0 && len(idx)%rows == 0:
		k = len(idx) / rows
	case rows == 0 && len(idx) == 0:
	default:
		panic(fmt.Sprintf("autograd.TakeAlongLastAxis: %d indices for %d rows of x %v", len(idx), rows, x.shape))
	}
	nnCheckIndex("TakeAlongLastAxis", idx, cols)
	shape := append(append(make([]int, 0, len(x.shape)), x.shape[:len(x.shape)-1]...), k)
	out := tp.allocDirty(x.dtype, shape...)
	if x.dtype == Float64 {
		nnTakeAlongOp[float64](tp, x, out, idx, rows, cols, k)
	} else {
		nnTakeAlongOp[float32](tp, x, out, idx, rows, cols, k)
	}
	return out
}

// nnGatherRows is GatherRows and Embedding, with op naming the caller in panics.
func (tp *Tape) nnGatherRows(op string, x *Tensor, idx []int32) *Tensor {
	if len(x.shape) == 0 {
		panic(fmt.Sprintf("autograd.%s: 0-D tensor has no rows", op))
	}
	nnCheckIndex(op, idx, x.shape[0])
	out := tp.allocDirty(x.dtype, append([]int{len(idx)}, x.shape[1:]...)...) // every row is copied
	d := nnRowWidth(x)
	if x.dtype == Float64 {
		nnGatherRowsOp[float64](tp, x, out, idx, d)
	} else {
		nnGatherRowsOp[float32](tp, x, out, idx, d)
	}
	return out
}

func nnGatherRowsOp[T Float](tp *Tape, x, out *Tensor, idx []int32, d int) {
	nnGather(tp.eng, Values[T](out), Values[T](x), idx, d, false)
	tp.record("GatherRows", out, func() {
		nnScatterAdd(tp.eng, gradOf[T](tp, x), Grads[T](out), nil, idx, d, x.shape[0])
	}, x)
}

func nnScatterAddRowsOp[T Float](tp *Tape, src, out *Tensor, idx []int32, d int) {
	nnScatterAdd(tp.eng, Values[T](out), Values[T](src), nil, idx, d, out.shape[0])
	tp.record("ScatterAddRows", out, func() {
		// Row i of src's gradient is row idx[i] of out's: one gather, which
		// writes a still-zero gradient and adds to any other.
		dsrc, beta := gradForOverwrite[T](tp, src)
		nnGather(tp.eng, dsrc, Grads[T](out), idx, d, beta != 0)
	}, src)
}

func nnTakeAlongOp[T Float](tp *Tape, x, out *Tensor, idx []int32, rows, cols, k int) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(rows, k, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := xv[r*cols : (r+1)*cols]
			for j, c := range idx[r*k : (r+1)*k] {
				ov[r*k+j] = xr[c]
			}
		}
	})
	tp.record("TakeAlongLastAxis", out, func() { nnScatterAlongRows(tp.eng, gradOf[T](tp, x), Grads[T](out), idx, rows, cols, k) }, x)
}

// nnScatterAlongRows is the backward of picking k columns per row (TopK,
// TakeAlongLastAxis): dx[r, idx[r, j]] += dy[r, j]. Rows are disjoint, so
// they run side by side without races.
func nnScatterAlongRows[T Float](e *Engine, dx, dy []T, idx []int32, rows, cols, k int) {
	e.parallelFor(rows, k, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dxr := dx[r*cols : (r+1)*cols]
			for j, c := range idx[r*k : (r+1)*k] {
				dxr[c] += dy[r*k+j]
			}
		}
	})
}

// nnGather sets (or, with add, adds to) dst[i] the row src[idx[i]] for each
// i, rows of width d.
func nnGather[T Float](e *Engine, dst, src []T, idx []int32, d int, add bool) {
	e.parallelFor(len(idx), d, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s, o := src[int(idx[i])*d:][:d], dst[i*d:][:d]
			if !add {
				copy(o, s)
				continue
			}
			for j, v := range s {
				o[j] += v
			}
		}
	})
}

// nnScatterAdd adds src[i], times w[i] unless w is nil, to dst[idx[i]] for
// each i, rows of width d, dst with n rows. Each worker owns a range of
// destination rows and walks all of idx in order, so every row sums its
// sources in index order whatever the number of workers: the result is
// deterministic and race-free. Each product is rounded before it is added
// (no fused multiply-add), as a separate Mul would round it.
func nnScatterAdd[T Float](e *Engine, dst, src, w []T, idx []int32, d, n int) {
	if n == 0 || d == 0 {
		return
	}
	e.parallelFor(n, max(1, len(idx)*d/n), func(lo, hi int) {
		for i, r := range idx {
			if int(r) < lo || int(r) >= hi {
				continue
			}
			s, o := src[i*d:][:d], dst[int(r)*d:][:d]
			if w == nil {
				for j, v := range s {
					o[j] += v
				}
				continue
			}
			wi := w[i]
			for j, v := range s {
				o[j] += T(v * wi)
			}
		}
	})
}

// nnCheckIndex panics unless every index lies in [0, n).
func nnCheckIndex(op string, idx []int32, n int) {
	for i, v := range idx {
		if v < 0 || int(v) >= n {
			panic(fmt.Sprintf("autograd.%s: index %d at position %d is outside [0, %d)", op, v, i, n))
		}
	}
}

// nnRowWidth returns the number of elements in one slice along the first
// axis of x.
func nnRowWidth(x *Tensor) int { return numel(x.shape[1:]) }
