package autograd

import (
	"fmt"
	"math"
)

// Attention returns softmax(q·kᵀ/sqrt(Dh))·v per batch entry and head, fused:
// q [B,Tq,H,Dh], k and v [B,Tk,Hkv,Dh], result [B,Tq,H,Dh]. Grouped-query
// attention maps head h to key/value head h/(H/Hkv). When causal, query i sits
// at absolute position Tk-Tq+i and sees keys 0..Tk-Tq+i, so a decode step with
// a KV cache (Tq = 1) sees every key.
//
// The kernel never holds the [Tq,Tk] score matrix: it walks query blocks
// against key blocks with an online softmax and keeps only each row's
// log-sum-exp for the backward pass, which recomputes the scores block by
// block.
//
// It panics if the operands are not 4-D, their dtypes, batch sizes or head
// widths differ, k and v differ in shape, H is not a multiple of Hkv, Tk is 0
// while Tq is not, or (when causal) Tq exceeds Tk.
func (tp *Tape) Attention(q, k, v *Tensor, causal bool) *Tensor {
	mustSameDType("Attention", q, k, v)
	d := attnCheckShapes(q, k, v, causal)
	d.eng = tp.eng
	out := tp.alloc(q.dtype, d.b, d.tq, d.h, d.dh) // [B,Tq,H,Dh]
	needGrad := tp.grad && (q.requiresGrad || k.requiresGrad || v.requiresGrad)
	if q.dtype == Float64 {
		attnRun[float64](tp, d, q, k, v, out, needGrad)
	} else {
		attnRun[float32](tp, d, q, k, v, out, needGrad)
	}
	return out
}

// attnDims is the geometry of one Attention call.
type attnDims struct {
	eng                   *Engine // the tape's: cores and block buffers
	b, tq, tk, h, hkv, dh int
	group                 int // H / Hkv: query heads per key/value head
	off                   int // Tk - Tq: absolute position of query 0
	causal                bool
	scale                 float64
	bq, bk                int // query and key block sizes
}

// attnCheckShapes validates the operands of Attention (panicking as it
// documents) and returns the call's geometry.
func attnCheckShapes(q, k, v *Tensor, causal bool) *attnDims {
	if len(q.shape) != 4 || len(k.shape) != 4 || !sameShape(k.shape, v.shape) {
		panic(fmt.Sprintf("autograd.Attention: want q [B,Tq,H,Dh] and k, v [B,Tk,Hkv,Dh], got %v, %v, %v", q.shape, k.shape, v.shape))
	}
	d := &attnDims{
		eng: DefaultEngine(),
		b:   q.shape[0], tq: q.shape[1], h: q.shape[2], dh: q.shape[3],
		tk: k.shape[1], hkv: k.shape[2], causal: causal,
	}
	if k.shape[0] != d.b || k.shape[3] != d.dh {
		panic(fmt.Sprintf("autograd.Attention: q %v and k %v differ in batch or head width", q.shape, k.shape))
	}
	if d.hkv == 0 || d.h%d.hkv != 0 {
		panic(fmt.Sprintf("autograd.Attention: %d query heads are not a multiple of %d key/value heads", d.h, d.hkv))
	}
	if d.tk == 0 && d.tq > 0 {
		panic(fmt.Sprintf("autograd.Attention: %d queries attend to no keys", d.tq))
	}
	if causal && d.tq > d.tk {
		panic(fmt.Sprintf("autograd.Attention: causal with %d queries but only %d keys", d.tq, d.tk))
	}
	d.group = d.h / d.hkv
	d.off = d.tk - d.tq
	if d.dh > 0 {
		d.scale = 1 / math.Sqrt(float64(d.dh))
	}
	bq, bk := attnBlockSizes(d.dh)
	d.bq, d.bk = max(min(bq, d.tq), 1), max(min(bk, d.tk), 1)
	return d
}

// attnRun computes the forward pass and records the backward pass.
func attnRun[T Float](tp *Tape, d *attnDims, q, k, v, out *Tensor, needGrad bool) {
	var lse []T // [B,H,Tq] log-sum-exp of each query row's scaled scores
	if needGrad {
		lse = Values[T](tp.alloc(q.dtype, d.b*d.h*d.tq))
	}
	attnForward(d, Values[T](q), Values[T](k), Values[T](v), Values[T](out), lse)
	if needGrad {
		tp.record("Attention", out, func() { attnBackward[T](tp, d, q, k, v, out, lse) }, q, k, v)
	}
}

// visible returns how many of the nk keys starting at j0 a query at absolute
// position pos may see.
func (d *attnDims) visible(pos, j0, nk int) int {
	if !d.causal {
		return nk
	}
	return min(max(pos+1-j0, 0), nk)
}

// keyEnd returns one past the last key a query at absolute position pos may
// see.
func (d *attnDims) keyEnd(pos int) int {
	if !d.causal {
		return d.tk
	}
	return min(d.tk, pos+1)
}

// attnRows is a block of query rows that share a key/value head: n rows of q
// (and of out) from offset off, stride apart. Row r sits at absolute position
// pos0 + r*posStep and keeps its log-sum-exp in lse[lse+r]; kv is the offset
// of the head's first key in k and v.
type attnRows struct{ off, stride, n, pos0, posStep, lse, kv int }

// attnForward fills out [B,Tq,H,Dh] and, when lse is not nil, the per-row
// log-sum-exp [B,H,Tq]. Work items are (batch, head, query block); a decode
// step (Tq = 1) with grouped heads instead runs the H/Hkv query heads of each
// key/value head as one block, reading each key block once for all of them.
func attnForward[T Float](d *attnDims, q, k, v, out, lse []T) {
	qs, ks := d.h*d.dh, d.hkv*d.dh // row strides of q/out and k/v
	if d.tq == 1 && d.group > 1 && d.group*d.bk*d.dh <= attnMaxTile {
		d.eng.parallelFor(d.b*d.hkv, d.group*d.tk*d.dh, func(lo, hi int) {
			ws := getAttnScratch[T](d.eng, d.group, d.bk, d.dh)
			defer putAttnScratch(d.eng, ws)
			for it := lo; it < hi; it++ { // it = b*Hkv + c
				b, h0 := it/d.hkv, (it%d.hkv)*d.group
				attnForwardBlock(d, ws, q, k, v, out, lse, attnRows{
					off: b*qs + h0*d.dh, stride: d.dh, n: d.group, pos0: d.off,
					lse: b*d.h + h0, kv: b*d.tk*ks + (it%d.hkv)*d.dh,
				})
			}
		})
		return
	}
	nqb := (d.tq + d.bq - 1) / d.bq
	d.eng.parallelFor(d.b*d.h*nqb, d.bq*d.tk*d.dh, func(lo, hi int) {
		ws := getAttnScratch[T](d.eng, d.bq, d.bk, d.dh)
		defer putAttnScratch(d.eng, ws)
		for it := lo; it < hi; it++ {
			bh, qb := it/nqb, attnBlockOrder(it%nqb, nqb) // bh = b*H + h
			b, h, i0 := bh/d.h, bh%d.h, qb*d.bq
			attnForwardBlock(d, ws, q, k, v, out, lse, attnRows{
				off: (b*d.tq+i0)*qs + h*d.dh, stride: qs, n: min(d.bq, d.tq-i0),
				pos0: d.off + i0, posStep: 1, lse: bh*d.tq + i0, kv: b*d.tk*ks + (h/d.group)*d.dh,
			})
		}
	})
}

// attnBlockOrder maps the i-th work item of n query blocks to a block, pairing
// cheap early blocks with expensive late ones (0, n-1, 1, n-2, ...), so that a
// contiguous range of items carries a fair share of causal work.
func attnBlockOrder(i, n int) int {
	if i%2 == 0 {
		return i / 2
	}
	return n - 1 - i/2
}

// attnForwardBlock runs a block of query rows against all the keys they may
// see, one key block at a time with an online softmax.
func attnForwardBlock[T Float](d *attnDims, ws *attnScratch[T], q, k, v, out, lse []T, rows attnRows) {
	nq, ks := rows.n, d.hkv*d.dh
	m, l, acc, s := ws.m[:nq], ws.l[:nq], ws.acc[:nq*d.dh], ws.s
	for r := range m {
		m[r] = T(math.Inf(-1))
	}
	clear(l)
	clear(acc)
	kEnd := d.keyEnd(rows.pos0 + (nq-1)*rows.posStep)
	for j0 := 0; j0 < kEnd; j0 += d.bk {
		nk := min(j0+d.bk, kEnd) - j0
		// s [nq,nk] = scale · q_blk · k_blkᵀ
		attnGemm(d.eng, false, true, nq, nk, d.dh, T(d.scale), q[rows.off:], rows.stride, k[rows.kv+j0*ks:], ks, 0, s, d.bk)
		for r := 0; r < nq; r++ {
			vis := d.visible(rows.pos0+r*rows.posStep, j0, nk)
			attnSoftmaxStep(s[r*d.bk:r*d.bk+nk], vis, &m[r], &l[r], acc[r*d.dh:(r+1)*d.dh])
		}
		// acc [nq,Dh] += p [nq,nk] · v_blk [nk,Dh]
		attnGemm[T](d.eng, false, false, nq, d.dh, nk, 1, s, d.bk, v[rows.kv+j0*ks:], ks, 1, acc, d.dh)
	}
	for r := 0; r < nq; r++ {
		inv := 1 / l[r]
		o := out[rows.off+r*rows.stride : rows.off+r*rows.stride+d.dh]
		for x, a := range acc[r*d.dh : (r+1)*d.dh] {
			o[x] = a * inv
		}
		if lse != nil {
			lse[rows.lse+r] = m[r] + T(math.Log(float64(l[r])))
		}
	}
}

// attnSoftmaxStep folds one key block into a query row's online softmax. The
// row holds the block's scores, of which the first vis are visible; m and l
// are the running maximum and sum of exponentials, acc the running weighted
// sum of values. On return row holds the probabilities relative to the new
// maximum (0 where masked), and l and acc are rescaled to that maximum.
func attnSoftmaxStep[T Float](row []T, vis int, m, l *T, acc []T) {
	if vis == 0 {
		clear(row)
		return
	}
	mNew := attnRowMax(row[:vis], *m)
	sum := attnExpRow(row[:vis], mNew)
	clear(row[vis:])
	if mNew != *m {
		alpha := attnExp(*m - mNew) // 0 on the first visible block
		*l *= alpha
		for x := range acc {
			acc[x] *= alpha
		}
		*m = mNew
	}
	*l += sum
}

// attnRowMax returns the largest of m and the elements of row. It compares
// rather than calling max, which costs more to propagate NaN; a NaN score
// still reaches the output through its exponential.
func attnRowMax[T Float](row []T, m T) T {
	if r32, ok := any(row).([]float32); ok {
		m32, done := rowMaxVec32(r32, float32(m))
		m, row = T(m32), row[done:]
	}
	for _, x := range row {
		if x > m {
			m = x
		}
	}
	return m
}
