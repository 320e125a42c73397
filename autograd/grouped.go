package autograd

import (
	"fmt"
	"sort"
)

// GroupedMatMul multiplies contiguous row groups of x by their own weight
// matrix: for group e, rows offsets[e]:offsets[e+1] of x [M, Din] are
// multiplied by w[e]^T with w [E, Dout, Din] (the nn.Linear layout), giving
// out [M, Dout]. This is the MoE experts' fast path: one GEMM per expert on
// exactly its tokens. offsets has E+1 non-decreasing entries with
// offsets[0] = 0 and offsets[E] = M; it panics otherwise.
func (tp *Tape) GroupedMatMul(x, w *Tensor, offsets []int) *Tensor {
	mustSameDType("GroupedMatMul", x, w)
	if len(x.shape) != 2 || len(w.shape) != 3 || x.shape[1] != w.shape[2] {
		panic(fmt.Sprintf("autograd.GroupedMatMul: x %v and w %v do not fit ([M,Din] x [E,Dout,Din])", x.shape, w.shape))
	}
	e := w.shape[0]
	if len(offsets) != e+1 || offsets[0] != 0 || offsets[e] != x.shape[0] {
		panic(fmt.Sprintf("autograd.GroupedMatMul: offsets %v do not cover %d rows in %d groups", offsets, x.shape[0], e))
	}
	for i := 0; i < e; i++ {
		if offsets[i+1] < offsets[i] {
			panic(fmt.Sprintf("autograd.GroupedMatMul: offsets %v decrease", offsets))
		}
	}
	out := tp.allocDirty(x.dtype, x.shape[0], w.shape[1]) // the groups cover every row
	if x.dtype == Float64 {
		groupedForward[float64](x, w, out, offsets)
		tp.record(out, func() { groupedBackward[float64](tp, x, w, out, offsets) }, x, w)
	} else {
		groupedForward[float32](x, w, out, offsets)
		tp.record(out, func() { groupedBackward[float32](tp, x, w, out, offsets) }, x, w)
	}
	return out
}

func groupedForward[T Float](x, w, out *Tensor, offsets []int) {
	din, dout := w.shape[2], w.shape[1]
	xv, wv, ov := Values[T](x), Values[T](w), Values[T](out)
	groupedEach(offsets, din*dout, func(e, lo, hi int) {
		gemmSerial(false, true, hi-lo, dout, din, 1, xv[lo*din:], din, wv[e*dout*din:], din, 0, ov[lo*dout:], dout)
	})
}

func groupedBackward[T Float](tp *Tape, x, w, out *Tensor, offsets []int) {
	din, dout := w.shape[2], w.shape[1]
	xv, wv, dov := Values[T](x), Values[T](w), Grads[T](out)
	// A stale (logically zero) gradient is overwritten (beta = 0) rather than
	// cleared and accumulated into: the groups cover every row of dx, and
	// the slices of dw of experts without tokens are cleared here.
	var dx, dw []T
	betaX, betaW := T(1), T(1)
	if x.requiresGrad {
		dx, betaX = gradForOverwrite[T](tp, x)
	}
	if w.requiresGrad {
		dw, betaW = gradForOverwrite[T](tp, w)
		if betaW == 0 {
			for e := 0; e+1 < len(offsets); e++ {
				if offsets[e+1] == offsets[e] {
					clear(dw[e*dout*din : (e+1)*dout*din])
				}
			}
		}
	}
	// Groups write disjoint rows of dx and disjoint slices of dw, so they run
	// side by side.
	groupedEach(offsets, 2*din*dout, func(e, lo, hi int) {
		if dx != nil { // dx_e [m, Din] += dout_e [m, Dout] · w_e [Dout, Din]
			gemmSerial(false, false, hi-lo, din, dout, 1, dov[lo*dout:], dout, wv[e*dout*din:], din, betaX, dx[lo*din:], din)
		}
		if dw != nil { // dw_e [Dout, Din] += dout_e^T · x_e
			gemmSerial(true, false, dout, din, hi-lo, 1, dov[lo*dout:], dout, xv[lo*din:], din, betaW, dw[e*dout*din:], din)
		}
	})
}

// groupedEach runs fn(e, lo, hi) for every non-empty group. When the work is
// large, whole groups are dealt to one goroutine per core, largest first onto
// the least-loaded worker, each running single-threaded GEMMs: for MoE's many
// mid-sized per-expert products this beats splitting every product in two.
// rowCost is the multiply-adds per row.
func groupedEach(offsets []int, rowCost int, fn func(e, lo, hi int)) {
	groups := len(offsets) - 1
	workers := min(Cores(), groups)
	total := offsets[groups] * rowCost
	if workers <= 1 || total < minParallelGEMM {
		for e := 0; e < groups; e++ {
			if offsets[e+1] > offsets[e] {
				fn(e, offsets[e], offsets[e+1])
			}
		}
		return
	}
	order := make([]int, 0, groups)
	for e := 0; e < groups; e++ {
		if offsets[e+1] > offsets[e] {
			order = append(order, e)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		return offsets[a+1]-offsets[a] > offsets[b+1]-offsets[b]
	})
	load := make([]int, workers)
	assign := make([][]int, workers)
	for _, e := range order {
		best := 0
		for wi := 1; wi < workers; wi++ {
			if load[wi] < load[best] {
				best = wi
			}
		}
		assign[best] = append(assign[best], e)
		load[best] += offsets[e+1] - offsets[e]
	}
	SplitRange(workers, workers, RangeFunc(func(lo, hi int) {
		for _, es := range assign[lo:hi] {
			for _, e := range es {
				fn(e, offsets[e], offsets[e+1])
			}
		}
	}))
}

// Select returns the i-th slice along the first axis of x, e.g. expert i's
// weight [Dout, Din] from w [E, Dout, Din], as a copy whose gradient flows
// back into that slice. It panics if i is out of range.
func (tp *Tape) Select(x *Tensor, i int) *Tensor {
	if len(x.shape) < 2 || i < 0 || i >= x.shape[0] {
		panic(fmt.Sprintf("autograd.Select: index %d of shape %v", i, x.shape))
	}
	inner := x.Len() / x.shape[0]
	out := tp.alloc(x.dtype, x.shape[1:]...)
	if x.dtype == Float64 {
		selectOp[float64](tp, x, out, i*inner, inner)
	} else {
		selectOp[float32](tp, x, out, i*inner, inner)
	}
	return out
}

func selectOp[T Float](tp *Tape, x, out *Tensor, off, n int) {
	copy(Values[T](out), Values[T](x)[off:off+n])
	tp.record(out, func() {
		gx := gradOf[T](tp, x)[off : off+n]
		for j, g := range Grads[T](out) {
			gx[j] += g
		}
	}, x)
}
