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
	mustGroupOffsets("GroupedMatMul", offsets, x.shape[0], w.shape[0])
	out := tp.allocDirty(x.dtype, x.shape[0], w.shape[1]) // the groups cover every row
	if x.dtype == Float64 {
		groupedForward[float64](tp.eng, x, w, out, offsets)
		tp.record("GroupedMatMul", out, func() { groupedBackward[float64](tp, x, w, out, offsets) }, x, w)
	} else {
		groupedForward[float32](tp.eng, x, w, out, offsets)
		tp.record("GroupedMatMul", out, func() { groupedBackward[float32](tp, x, w, out, offsets) }, x, w)
	}
	return out
}

// mustGroupOffsets panics unless offsets has groups+1 non-decreasing
// entries from 0 to rows.
func mustGroupOffsets(op string, offsets []int, rows, groups int) {
	if len(offsets) != groups+1 || offsets[0] != 0 || offsets[groups] != rows {
		panic(fmt.Sprintf("autograd.%s: offsets %v do not cover %d rows in %d groups", op, offsets, rows, groups))
	}
	for i := range groups {
		if offsets[i+1] < offsets[i] {
			panic(fmt.Sprintf("autograd.%s: offsets %v decrease", op, offsets))
		}
	}
}

func groupedForward[T Float](eng *Engine, x, w, out *Tensor, offsets []int) {
	din, dout := w.shape[2], w.shape[1]
	xv, wv, ov := Values[T](x), Values[T](w), Values[T](out)
	groups := len(offsets) - 1
	rows, cost := make([]int, groups), make([]int, groups)
	for e := range groups {
		rows[e], cost[e] = offsets[e+1]-offsets[e], din*dout
	}
	touch := touchWeights(len(wv))
	runPieces(eng, rows, cost, func(e, lo, hi int) { // out_e rows [lo, hi) = x_e · w_e^T
		r := offsets[e] + lo
		if touch && hi-lo < fewRows {
			touchLines(wv[e*dout*din : (e+1)*dout*din])
		}
		gemmSerial(eng, false, true, hi-lo, dout, din, 1, xv[r*din:], din, wv[e*dout*din:], din, 0, ov[r*dout:], dout)
	})
}

func groupedBackward[T Float](tp *Tape, x, w, out *Tensor, offsets []int) {
	din, dout := w.shape[2], w.shape[1]
	xv, wv, dov := Values[T](x), Values[T](w), Grads[T](out)
	groups := len(offsets) - 1
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
			for e := range groups {
				if offsets[e+1] == offsets[e] {
					clear(dw[e*dout*din : (e+1)*dout*din])
				}
			}
		}
	}
	// Pieces 0..E-1 are dx's, cut along the group's rows; pieces E..2E-1
	// are dw's, cut along Dout (dw_e sums over the rows, so they cannot be
	// cut there). All write disjoint memory, so they run side by side. A
	// group with few rows does its dw right after its dx on the same core
	// (in its first dx piece), while dout_e is still in that core's cache.
	length, cost := make([]int, 2*groups), make([]int, 2*groups)
	for e := range groups {
		m := offsets[e+1] - offsets[e]
		if dx != nil {
			length[e], cost[e] = m, dout*din
		}
		if dw != nil && m > 0 {
			if dx != nil && m < fewRows {
				cost[e] += dout * din // dw_e's multiply-adds, spread over the rows
				continue
			}
			length[groups+e], cost[groups+e] = dout, m*din
		}
	}
	touch := touchWeights(len(wv))
	dwGroup := func(e, lo, hi int) { // dw_e rows [lo, hi) += (dout_e columns [lo, hi))^T · x_e
		r, m := offsets[e], offsets[e+1]-offsets[e]
		if touch && m < fewRows {
			touchLines(dw[(e*dout+lo)*din : (e*dout+hi)*din])
		}
		gemmSerial(tp.eng, true, false, hi-lo, din, m, 1, dov[r*dout+lo:], dout, xv[r*din:], din, betaW, dw[(e*dout+lo)*din:], din)
	}
	runPieces(tp.eng, length, cost, func(p, lo, hi int) {
		if p >= groups {
			dwGroup(p-groups, lo, hi)
			return
		}
		// dx_e rows [lo, hi) += dout_e · w_e
		m, r := offsets[p+1]-offsets[p], offsets[p]+lo
		if touch && hi-lo < fewRows {
			touchLines(wv[p*dout*din : (p+1)*dout*din])
		}
		gemmSerial(tp.eng, false, false, hi-lo, din, dout, 1, dov[r*dout:], dout, wv[p*dout*din:], din, betaX, dx[r*din:], din)
		if dw != nil && m < fewRows && lo == 0 {
			dwGroup(p, 0, dout)
		}
	})
}

// groupPiece is units [lo, hi) of group e.
type groupPiece struct{ e, lo, hi int }

// minPieceCost is the fewest multiply-adds worth making a piece of its own
// (about 10 µs of one core).
const minPieceCost = 1 << 19

// runPieces runs fn(e, lo, hi) over every group e with length[e] > 0, whose
// units each cost cost[e] multiply-adds, covering [0, length[e]) exactly
// once. Small jobs run inline, group by group. Large ones are cut into
// pieces of at most 1/chunksPerCore of a core's share (never below
// minPieceCost), listed largest first and claimed by the cores one at a time
// (SplitRange): however unequal the groups (MoE experts rarely get equal
// tokens), every core stays busy until the last piece, and each piece is one
// single-threaded GEMM.
func runPieces(eng *Engine, length, cost []int, fn func(e, lo, hi int)) {
	total := 0
	for e, n := range length {
		total += n * cost[e]
	}
	workers := eng.Cores()
	if workers <= 1 || total < minParallelGEMM {
		for e, n := range length {
			if n > 0 {
				fn(e, 0, n)
			}
		}
		return
	}
	maxCost := max(total/(chunksPerCore*workers), minPieceCost)
	var pieces []groupPiece
	for e, n := range length {
		if n == 0 {
			continue
		}
		parts := min(n, (n*cost[e]+maxCost-1)/maxCost)
		for i := range parts {
			pieces = append(pieces, groupPiece{e, i * n / parts, (i + 1) * n / parts})
		}
	}
	sort.SliceStable(pieces, func(i, j int) bool {
		a, b := pieces[i], pieces[j]
		return (a.hi-a.lo)*cost[a.e] > (b.hi-b.lo)*cost[b.e]
	})
	eng.SplitRange(len(pieces), len(pieces), RangeFunc(func(u, _ int) {
		p := pieces[u]
		fn(p.e, p.lo, p.hi)
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
	tp.record("Select", out, func() {
		gx := gradOf[T](tp, x)[off : off+n]
		for j, g := range Grads[T](out) {
			gx[j] += g
		}
	}, x)
}

// fewRows: below this many rows an expert's GEMM spends a large share of
// its time waiting for its weight to come in from memory, so its operands
// are read in one burst first (touchLines; see touchWeights), and its weight
// gradient is computed right after its input gradient on the same core
// (the runs behind the threshold: BENCHMARKS.md, "Kernel constants").
const fewRows = 256

// touchWeights reports whether experts' weights of n elements in all are
// worth touching: from 1M elements (4 MiB in float32) up, which the other
// layers' weights and activations have pushed out of cache by the time they
// are used again. Smaller sets (tiny's 1 MiB per projection at E=8) stay
// cached, and touching them only costs.
func touchWeights(n int) bool { return n >= 1<<20 }
