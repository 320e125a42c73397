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
	b, tq, tk, h, hkv, dh int
	group                 int // H / Hkv: query heads per key/value head
	off                   int // Tk - Tq: absolute position of query 0
	causal                bool
	scale                 float64
	bq, bk                int // query and key block sizes
}

func attnCheckShapes(q, k, v *Tensor, causal bool) *attnDims {
	if len(q.shape) != 4 || len(k.shape) != 4 || !sameShape(k.shape, v.shape) {
		panic(fmt.Sprintf("autograd.Attention: want q [B,Tq,H,Dh] and k, v [B,Tk,Hkv,Dh], got %v, %v, %v", q.shape, k.shape, v.shape))
	}
	d := &attnDims{
		b: q.shape[0], tq: q.shape[1], h: q.shape[2], dh: q.shape[3],
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
	d.bq, d.bk = attnBlockSizes(d.dh)
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
		tp.record(out, func() { attnBackward[T](tp, d, q, k, v, out, lse) }, q, k, v)
	}
}

// visible returns how many of the nk keys starting at j0 query i may see.
func (d *attnDims) visible(i, j0, nk int) int {
	if !d.causal {
		return nk
	}
	return min(max(d.off+i+1-j0, 0), nk)
}

// keyEnd returns one past the last key any query in [i0, i1) may see.
func (d *attnDims) keyEnd(i1 int) int {
	if !d.causal {
		return d.tk
	}
	return min(d.tk, d.off+i1)
}

// attnForward fills out [B,Tq,H,Dh] and, when lse is not nil, the per-row
// log-sum-exp [B,H,Tq]. Work items are (batch, head, query block).
func attnForward[T Float](d *attnDims, q, k, v, out, lse []T) {
	nqb := (d.tq + d.bq - 1) / d.bq
	items := d.b * d.h * nqb
	parallelFor(items, d.bq*d.tk*d.dh, func(lo, hi int) {
		ws := newAttnScratch[T](d)
		for it := lo; it < hi; it++ {
			bh, qb := it/nqb, attnBlockOrder(it%nqb, nqb)
			attnForwardBlock(d, ws, q, k, v, out, lse, bh/d.h, bh%d.h, qb)
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

// attnForwardBlock runs query block qb of head h in batch entry b against all
// the keys it may see, one key block at a time with an online softmax.
func attnForwardBlock[T Float](d *attnDims, ws *attnScratch[T], q, k, v, out, lse []T, b, h, qb int) {
	i0 := qb * d.bq
	i1 := min(i0+d.bq, d.tq)
	nq := i1 - i0
	qs, ks := d.h*d.dh, d.hkv*d.dh // row strides of q/out and k/v
	qoff := (b*d.tq+i0)*qs + h*d.dh
	kbase := b*d.tk*ks + (h/d.group)*d.dh
	m, l, acc, s := ws.m[:nq], ws.l[:nq], ws.acc[:nq*d.dh], ws.s
	for r := range m {
		m[r] = T(math.Inf(-1))
	}
	clear(l)
	clear(acc)
	for j0, kEnd := 0, d.keyEnd(i1); j0 < kEnd; j0 += d.bk {
		nk := min(j0+d.bk, kEnd) - j0
		// s [nq,nk] = scale · q_blk · k_blkᵀ
		attnGemm(false, true, nq, nk, d.dh, T(d.scale), q[qoff:], qs, k[kbase+j0*ks:], ks, 0, s, d.bk)
		for r := 0; r < nq; r++ {
			attnSoftmaxStep(s[r*d.bk:r*d.bk+nk], d.visible(i0+r, j0, nk), &m[r], &l[r], acc[r*d.dh:(r+1)*d.dh])
		}
		// acc [nq,Dh] += p [nq,nk] · v_blk [nk,Dh]
		attnGemm(false, false, nq, d.dh, nk, 1, s, d.bk, v[kbase+j0*ks:], ks, 1, acc, d.dh)
	}
	for r := 0; r < nq; r++ {
		inv := 1 / l[r]
		o := out[qoff+r*qs : qoff+r*qs+d.dh]
		for x, a := range acc[r*d.dh : (r+1)*d.dh] {
			o[x] = a * inv
		}
		if lse != nil {
			lse[(b*d.h+h)*d.tq+i0+r] = m[r] + T(math.Log(float64(l[r])))
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
	for _, x := range row {
		if x > m {
			m = x
		}
	}
	return m
}
