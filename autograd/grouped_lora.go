package autograd

import "fmt"

// GroupedLoRA is GroupedMatMul with a low-rank update of every group's
// weight, as one op: for group e, rows offsets[e]:offsets[e+1],
//
//	out_e = x_e·w_e^T + s·(xa_e·a_e^T)·b_e^T
//
// with x [M, In], w [E, Out, In], the adapter's input xa [M, In] (x itself,
// or x after dropout), a [E, R, In] and b [E, Out, R]; out [M, Out]. It
// computes GroupedMatMul(x, w) + s·GroupedMatMul(GroupedMatMul(xa, a), b),
// but the tape holds only out and the [R, M] low-rank activation, where the
// composition holds four [M, Out] tensors and their gradients; and every
// product whose result would have R columns runs transposed, as R rows
// (groupedLoRAForward), so that the GEMM tiles, 32 columns wide, are not
// mostly padding at R = 8. It panics on shapes or offsets that do not fit,
// as GroupedMatMul does.
func (tp *Tape) GroupedLoRA(x, w, xa, a, b *Tensor, offsets []int, s float64) *Tensor {
	mustSameDType("GroupedLoRA", x, w, xa, a, b)
	if len(x.shape) != 2 || len(w.shape) != 3 || x.shape[1] != w.shape[2] || !sameShape(xa.shape, x.shape) ||
		len(a.shape) != 3 || len(b.shape) != 3 || a.shape[0] != w.shape[0] || a.shape[2] != w.shape[2] ||
		b.shape[0] != w.shape[0] || b.shape[1] != w.shape[1] || b.shape[2] != a.shape[1] {
		panic(fmt.Sprintf("autograd.GroupedLoRA: x %v, w %v, xa %v, a %v and b %v do not fit ([M,In], [E,Out,In], [M,In], [E,R,In], [E,Out,R])",
			x.shape, w.shape, xa.shape, a.shape, b.shape))
	}
	mustGroupOffsets("GroupedLoRA", offsets, x.shape[0], w.shape[0])
	op := &groupedLoRA{
		x: x, w: w, xa: xa, a: a, b: b, offsets: offsets, s: s,
		in: w.shape[2], out: w.shape[1], r: a.shape[1],
		y: tp.allocDirty(x.dtype, x.shape[0], w.shape[1]), // the groups cover every row
		u: tp.allocDirty(x.dtype, a.shape[1], x.shape[0]),
	}
	if x.dtype == Float64 {
		groupedLoRAForward[float64](tp.eng, op)
		tp.record("GroupedLoRA", op.y, func() { groupedLoRABackward[float64](tp, op) }, x, w, xa, a, b)
	} else {
		groupedLoRAForward[float32](tp.eng, op)
		tp.record("GroupedLoRA", op.y, func() { groupedLoRABackward[float32](tp, op) }, x, w, xa, a, b)
	}
	return op.y
}

// groupedLoRA is one GroupedLoRA call: its operands, shapes and output.
type groupedLoRA struct {
	x, w, xa, a, b *Tensor // [M, In], [E, Out, In], [M, In], [E, R, In], [E, Out, R]
	offsets        []int   // [E+1]
	s              float64
	in, out, r     int
	y              *Tensor // [M, Out]
	// u holds t_e^T = a_e·xa_e^T [R, m_e] for every group e, at R·offsets[e]
	// (m_e = offsets[e+1] - offsets[e]): the low-rank activation,
	// transposed, which the backward needs for b's gradient.
	u *Tensor
}

// rows returns group e's first row and row count.
func (op *groupedLoRA) rows(e int) (int, int) {
	return op.offsets[e], op.offsets[e+1] - op.offsets[e]
}

// groupedLoRAForward computes y and u, one piece of a group's rows at a
// time: y = x·w^T, u = a·xa^T (R rows: the tiles are full, where xa·a^T would
// fill R of each tile's 32 columns), then y += s·u^T·b^T.
func groupedLoRAForward[T Float](eng *Engine, op *groupedLoRA) {
	din, dout, r := op.in, op.out, op.r
	xv, wv, xav, av, bv := Values[T](op.x), Values[T](op.w), Values[T](op.xa), Values[T](op.a), Values[T](op.b)
	yv, uv := Values[T](op.y), Values[T](op.u)
	s := T(op.s)
	groups := len(op.offsets) - 1
	rows, cost := make([]int, groups), make([]int, groups)
	for e := range groups {
		_, rows[e] = op.rows(e)
		cost[e] = din*dout + r*(din+dout)
	}
	touch := touchWeights(len(wv))
	runPieces(eng, rows, cost, func(e, lo, hi int) {
		first, m := op.rows(e)
		i, h := first+lo, hi-lo
		we, ae, be, ue := wv[e*dout*din:], av[e*r*din:], bv[e*dout*r:], uv[r*first+lo:] // ue: u_e from column lo, row stride m
		if touch && h < fewRows {
			touchLines(wv[e*dout*din : (e+1)*dout*din])
		}
		gemmSerial(eng, false, true, h, dout, din, 1, xv[i*din:], din, we, din, 0, yv[i*dout:], dout) // y_e = x_e·w_e^T
		gemmSerial(eng, false, true, r, h, din, 1, ae, din, xav[i*din:], din, 0, ue, m)               // u_e = a_e·xa_e^T [R, h]
		gemmSerial(eng, true, true, h, dout, r, s, ue, m, be, r, 1, yv[i*dout:], dout)                // y_e += s·u_e^T·b_e^T
	})
}

// groupedLoRABackward adds every input's gradient, from g = dL/dy [M, Out].
// With v_e = s·b_e^T·g_e^T [R, m_e] (the low-rank activation's gradient,
// transposed like u):
//
//	dx_e += g_e·w_e        dxa_e += v_e^T·a_e        dw_e += g_e^T·x_e
//	da_e += v_e·xa_e       db_e  += s·(u_e·g_e)^T
//
// In two rounds of pieces: first v, dx and dxa, cut along each group's rows
// (and dw of a group with few rows, right after, as GroupedMatMul does);
// then, since da_e sums v_e over all the group's rows, da and db one piece
// per group, beside dw cut along Out. Only the gradients of inputs that
// require grad are computed.
func groupedLoRABackward[T Float](tp *Tape, op *groupedLoRA) {
	din, dout, r := op.in, op.out, op.r
	x, xa := op.x, op.xa
	xv, wv, xav, av, bv := Values[T](x), Values[T](op.w), Values[T](xa), Values[T](op.a), Values[T](op.b)
	g, uv := Grads[T](op.y), Values[T](op.u)
	s := T(op.s)
	groups := len(op.offsets) - 1
	m := x.shape[0]

	// A stale or fresh gradient is overwritten (beta = 0) rather than
	// cleared first: the groups cover every row of dx and dxa, and the
	// weight gradients of groups without rows are cleared here.
	var dx, dxa, dw, da, db []T
	betaX, betaXA, betaW, betaA, betaB := T(1), T(1), T(1), T(1), T(1)
	if x.requiresGrad {
		dx, betaX = gradForOverwrite[T](tp, x)
	}
	// With xa = x, the adapter's part of dx is added after the base's.
	adapterIn := x.requiresGrad && xa == x
	if xa != x && xa.requiresGrad {
		dxa, betaXA = gradForOverwrite[T](tp, xa)
		adapterIn = true
	}
	if op.w.requiresGrad {
		dw, betaW = gradForOverwrite[T](tp, op.w)
	}
	if op.a.requiresGrad {
		da, betaA = gradForOverwrite[T](tp, op.a)
	}
	if op.b.requiresGrad {
		db, betaB = gradForOverwrite[T](tp, op.b)
	}
	for e := range groups {
		if _, n := op.rows(e); n == 0 {
			clearIfOverwritten(dw, betaW, e*dout*din, dout*din)
			clearIfOverwritten(da, betaA, e*r*din, r*din)
			clearIfOverwritten(db, betaB, e*dout*r, dout*r)
		}
	}
	needV := adapterIn || da != nil
	var v, dbT []T
	if needV {
		v = Values[T](tp.allocDirty(x.dtype, r, m)) // v_e at R·offsets[e], like u_e
	}
	if db != nil {
		dbT = Values[T](tp.allocDirty(x.dtype, groups, r, dout)) // (db_e)^T [R, Out], before it is added in
	}

	touch := touchWeights(len(wv))
	dwGroup := func(e, lo, hi int) { // dw_e rows [lo, hi) = (g_e columns [lo, hi))^T · x_e
		first, n := op.rows(e)
		if touch && n < fewRows {
			touchLines(dw[(e*dout+lo)*din : (e*dout+hi)*din])
		}
		gemmSerial(tp.eng, true, false, hi-lo, din, n, 1, g[first*dout+lo:], dout, xv[first*din:], din, betaW, dw[(e*dout+lo)*din:], din)
	}

	// Round 1: v, dx, dxa by rows; dw of groups with few rows.
	length, cost := make([]int, groups), make([]int, groups)
	dwInRows := make([]bool, groups)
	rowCost := 0
	if dx != nil {
		rowCost += dout * din
	}
	if needV {
		rowCost += r * dout
	}
	if adapterIn {
		rowCost += r * din
	}
	for e := range groups {
		_, n := op.rows(e)
		if rowCost == 0 || n == 0 {
			continue
		}
		length[e], cost[e] = n, rowCost
		if dw != nil && n < fewRows {
			dwInRows[e] = true
			cost[e] += dout * din // dw_e's multiply-adds, spread over the rows
		}
	}
	runPieces(tp.eng, length, cost, func(e, lo, hi int) {
		first, n := op.rows(e)
		i, h := first+lo, hi-lo
		var ve []T // v_e from column lo, row stride n
		if needV { // v_e columns [lo, hi) = s·b_e^T·g_e^T [R, h]
			ve = v[r*first+lo:]
			gemmSerial(tp.eng, true, true, r, h, dout, s, bv[e*dout*r:], r, g[i*dout:], dout, 0, ve, n)
		}
		if dx != nil { // dx_e rows [lo, hi) += g_e·w_e
			if touch && h < fewRows {
				touchLines(wv[e*dout*din : (e+1)*dout*din])
			}
			gemmSerial(tp.eng, false, false, h, din, dout, 1, g[i*dout:], dout, wv[e*dout*din:], din, betaX, dx[i*din:], din)
		}
		if adapterIn { // dxa_e rows [lo, hi) += v_e^T·a_e
			dst, beta := dxa, betaXA
			if dxa == nil { // xa = x
				dst, beta = dx, 1
			}
			gemmSerial(tp.eng, true, false, h, din, r, 1, ve, n, av[e*r*din:], din, beta, dst[i*din:], din)
		}
		if dwInRows[e] && lo == 0 {
			dwGroup(e, 0, dout)
		}
	})

	// Round 2: dw by Out (pieces 0..E-1), da and db by group (E..2E-1).
	if dw == nil && da == nil && db == nil {
		return
	}
	length, cost = make([]int, 2*groups), make([]int, 2*groups)
	for e := range groups {
		_, n := op.rows(e)
		if n == 0 {
			continue
		}
		if dw != nil && !dwInRows[e] {
			length[e], cost[e] = dout, n*din
		}
		if da != nil || db != nil {
			length[groups+e], cost[groups+e] = 1, r*n*(din+dout)
		}
	}
	runPieces(tp.eng, length, cost, func(p, lo, hi int) {
		if p < groups {
			dwGroup(p, lo, hi)
			return
		}
		e := p - groups
		first, n := op.rows(e)
		if da != nil { // da_e = v_e·xa_e [R, In]
			gemmSerial(tp.eng, false, false, r, din, n, 1, v[r*first:], n, xav[first*din:], din, betaA, da[e*r*din:], din)
		}
		if db != nil { // db_e = s·(u_e·g_e)^T: [R, Out] with R rows, then transposed in
			t := dbT[e*r*dout : (e+1)*r*dout]
			gemmSerial(tp.eng, false, false, r, dout, n, s, uv[r*first:], n, g[first*dout:], dout, 0, t, dout)
			addTransposed(db[e*dout*r:(e+1)*dout*r], t, r, dout, betaB == 0)
		}
	})
}

// clearIfOverwritten clears grad[off:off+n] when grad is about to be
// overwritten (beta = 0) by kernels that skip that part.
func clearIfOverwritten[T Float](grad []T, beta T, off, n int) {
	if grad != nil && beta == 0 {
		clear(grad[off : off+n])
	}
}

// addTransposed adds t^T to dst: dst [cols, rows] += t [rows, cols], or
// sets it when overwrite.
func addTransposed[T Float](dst, t []T, rows, cols int, overwrite bool) {
	for j := range cols {
		d := dst[j*rows : (j+1)*rows]
		for k := range rows {
			if overwrite {
				d[k] = t[k*cols+j]
			} else {
				d[k] += t[k*cols+j]
			}
		}
	}
}
