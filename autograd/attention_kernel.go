package autograd

import (
	"math"
	"sync"
	"unsafe"
)

// attnMaxTile bounds nq*nk*Dh for one block product. OpenBLAS runs products
// up to this size on the calling thread and larger ones on its thread pool,
// which fights the goroutines running blocks side by side on the same cores;
// on the tile GEMM, larger blocks gained nothing (BENCHMARKS.md, "Kernel
// constants").
const attnMaxTile = 1 << 18

// attnGemmMinWork is the product size m*n*k below which block products run as
// plain loops, which beat a GEMM call's overhead there
// (BenchmarkAttnBlockProduct; BENCHMARKS.md, "Kernel constants").
const attnGemmMinWork = 512

// attnBlockSizes returns the query and key block sizes for head width dh:
// 64 query rows against up to 128 keys, fewer where needed to stay within
// attnMaxTile.
func attnBlockSizes(dh int) (bq, bk int) {
	bq, bk = 64, 128
	for bq*bk*dh > attnMaxTile && bq > 16 {
		if bk > 16 {
			bk /= 2
		} else {
			bq /= 2
		}
	}
	return bq, bk
}

// attnScratch is one worker's block buffers.
type attnScratch[T Float] struct {
	s   []T    // [rows,cols] scores, then probabilities, then score gradients
	dp  []T    // [rows,cols] probability gradients
	acc []T    // [rows,Dh] unnormalised output rows
	m   []T    // [rows] running row maxima
	l   []T    // [rows] running row sums
	buf []T    // all of the above
	dim [3]int // rows, cols, Dh
}

// getAttnScratch returns block buffers for rows query rows against cols keys
// of width dh, reused from an earlier call when one of that size is free.
// Their contents are undefined (NaN under PoisonDirtyBuffers): every buffer
// is written before it is read. Hand them back with putAttnScratch.
func getAttnScratch[T Float](e *Engine, rows, cols, dh int) *attnScratch[T] {
	dim := [3]int{rows, cols, dh}
	ws, _ := attnScratchPool[T](e).Get().(*attnScratch[T])
	if ws == nil || ws.dim != dim {
		ws = newAttnScratch[T](dim)
	}
	if e.poison {
		for i := range ws.buf {
			ws.buf[i] = T(math.NaN())
		}
	}
	return ws
}

func putAttnScratch[T Float](e *Engine, ws *attnScratch[T]) { attnScratchPool[T](e).Put(ws) }

// attnScratchPool is the engine's pool of block buffers for T (every layer,
// every step, asks for the same sizes).
func attnScratchPool[T Float](e *Engine) *sync.Pool {
	var z T
	return &e.attn[unsafe.Sizeof(z)/8]
}

func newAttnScratch[T Float](dim [3]int) *attnScratch[T] {
	rows, cols, dh := dim[0], dim[1], dim[2]
	tile := rows * cols
	buf := make([]T, 2*tile+rows*dh+2*rows)
	ws := &attnScratch[T]{buf: buf, dim: dim}
	ws.s, buf = buf[:tile], buf[tile:]
	ws.dp, buf = buf[:tile], buf[tile:]
	ws.acc, buf = buf[:rows*dh], buf[rows*dh:]
	ws.m, ws.l = buf[:rows], buf[rows:]
	return ws
}

// attnExp returns e^x: math.Exp for float64, attnExp32 for float32.
func attnExp[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(attnExp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// attnExpRow replaces each x in row by e^(x-shift) and returns their sum.
func attnExpRow[T Float](row []T, shift T) T {
	if len(row) > 0 && unsafe.Sizeof(shift) == 4 {
		r32 := unsafe.Slice((*float32)(unsafe.Pointer(&row[0])), len(row))
		return T(attnExpRow32(r32, float32(shift)))
	}
	var sum T
	for j, x := range row {
		e := T(math.Exp(float64(x - shift)))
		row[j] = e
		sum += e
	}
	return sum
}

// attnExpRow32 replaces each x in row by e^(x-shift) in float32 and returns
// their sum (expSum16).
func attnExpRow32(row []float32, shift float32) float32 {
	return expSum16(row, row, shift)
}

// attnExp32 returns e^x in float32 as attnExpRow32 computes it.
func attnExp32(x float32) float32 { return expLane32(x) }

// expSubSumF32 sets dst[i] = e^(src[i]-shift) rounded to float32 and returns
// the sum of the rounded values, accumulated in float64; len(src) >=
// len(dst), and dst and src may be the same slice. Each exponential is
// within about half a float32 unit in the last place (expLane); -Inf gives
// exactly 0 and NaN gives NaN. Element i adds to partial sum i mod 8 (the
// lanes of the vector kernels), the partial sums combine as
// ((s0+s4)+(s2+s6))+((s1+s5)+(s3+s7)), so the vector kernels
// (simd_avx512_amd64.s, simd_avx2_amd64.s) and expSubSumLanes agree bit for
// bit. The elements past the last whole group of 8 go through one more
// group, padded with -Inf (which adds exactly 0), and its sum is added last:
// causal attention's rows rarely have lengths that are multiples of 8.
func expSubSumF32(dst, src []float32, shift float32) float64 {
	src = src[:len(dst)]
	i, sum := expSubSum8(dst, src, shift)
	if i < len(dst) {
		sum += expPaddedTail(dst[i:], src[i:], shift, 8)
	}
	return sum
}

// expSubSum8 runs the vector kernel, or its scalar form, on the prefix of dst
// whose length is a multiple of 8, and returns that length and its sum.
func expSubSum8(dst, src []float32, shift float32) (int, float64) {
	if i, sum := expSubSumVec(dst, src, shift); i > 0 {
		return i, sum
	}
	return expSubSumLanes(dst, src, shift)
}

// expSubSumLanes is the scalar form of the vector kernels of expSubSumF32:
// it processes the prefix of dst whose length is a multiple of 8 and returns
// that length and the prefix's sum.
func expSubSumLanes(dst, src []float32, shift float32) (int, float64) {
	n := len(dst) &^ 7
	var s [8]float64
	sh := float64(shift)
	for i := 0; i < n; i += 8 {
		for l := range s {
			e := float32(expLane(float64(src[i+l]) - sh))
			dst[i+l] = e
			s[l] += float64(e)
		}
	}
	return n, ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

// expLane returns e^x in float64 for rounding to float32, as the vector
// kernels compute it: for c = clamp(x, -actClamp, actClamp), n =
// round(c log2 e), r = c - n ln2 (|r| <= ln2/2) and e^c = 2^n p(r) with p the
// degree-7 Taylor polynomial of e^r (relative error below 7.3e-9). 2^±174 is
// a normal float64, so the scaling is exact; float32 rounds e^-120 to 0 and
// e^120 to +Inf, so the clamp changes no float32 result, and NaN passes.
func expLane(x float64) float64 {
	c := min(max(x, -actClamp), actClamp)
	kb := math.FMA(c, nnLog2E, actRoundMagic)
	n := kb - actRoundMagic
	r := math.FMA(n, -nnLn2, c)
	p := 1.0 / 5040
	p = math.FMA(p, r, 1.0/720)
	p = math.FMA(p, r, 1.0/120)
	p = math.FMA(p, r, 1.0/24)
	p = math.FMA(p, r, 1.0/6)
	p = math.FMA(p, r, 1.0/2)
	p = math.FMA(p, r, 1)
	p = math.FMA(p, r, 1)
	// The low bits of kb hold n; shifting n+1023 into the exponent gives 2^n.
	return p * math.Float64frombits((math.Float64bits(kb)+1023)<<52)
}

// attnGemm is gemm for attention blocks: gemm (the tile GEMM for float32 on
// AVX-512, one BLAS call otherwise) for all but the smallest products, plain
// loops for those.
func attnGemm[T Float](e *Engine, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m*n*k >= attnGemmMinWork {
		gemm(e, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	attnLoopGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// attnLoopGemm computes C = alpha·op(A)·op(B) + beta·C with plain loops, in
// gemm's conventions.
func attnLoopGemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(crow)
		case 1:
		default:
			for j := range crow {
				crow[j] *= beta
			}
		}
		if !transA && transB { // C[i,j] += alpha · A[i,:] · B[j,:]
			arow := a[i*lda : i*lda+k]
			for j := range crow {
				crow[j] += alpha * attnDot(arow, b[j*ldb:j*ldb+k])
			}
			continue
		}
		for p := 0; p < k; p++ { // C[i,:] += alpha · op(A)[i,p] · op(B)[p,:]
			var av T
			if transA {
				av = alpha * a[p*lda+i]
			} else {
				av = alpha * a[i*lda+p]
			}
			if av == 0 {
				continue
			}
			if transB {
				for j := range crow {
					crow[j] += av * b[j*ldb+p]
				}
				continue
			}
			attnAxpy(av, b[p*ldb:p*ldb+n], crow)
		}
	}
}

// attnDot returns x·y for len(y) >= len(x).
func attnDot[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// attnAxpy adds a·x to y for len(y) >= len(x).
func attnAxpy[T Float](a T, x, y []T) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// attnBufs holds the slices the backward pass reads and writes; a gradient
// slice is nil when its input does not require grad.
type attnBufs[T Float] struct {
	q, k, v, o, do []T // values and the output gradient
	lse, delta     []T // [B,H,Tq] row log-sum-exp and rowsum(dO ∘ O)
	dq, dk, dv     []T
}

// attnBackward accumulates the gradients of q, k and v. Work items are
// (batch, key/value head) pairs, which own disjoint slices of every gradient;
// when there are too few of them to fill the cores it runs two passes instead,
// dk and dv over key blocks and then dq over query blocks.
func attnBackward[T Float](tp *Tape, d *attnDims, q, k, v, out *Tensor, lse []T) {
	g := &attnBufs[T]{
		q: Values[T](q), k: Values[T](k), v: Values[T](v), o: Values[T](out), do: Grads[T](out),
		lse: lse, delta: Values[T](tp.alloc(q.dtype, d.b*d.h*d.tq)),
	}
	if q.requiresGrad {
		g.dq = gradOf[T](tp, q)
	}
	if k.requiresGrad {
		g.dk = gradOf[T](tp, k)
	}
	if v.requiresGrad {
		g.dv = gradOf[T](tp, v)
	}
	attnDelta(d, g)
	nqb := (d.tq + d.bq - 1) / d.bq
	nkb := (d.tk + d.bk - 1) / d.bk
	pairs := d.b * d.hkv
	tileCost := d.bq * d.bk * d.dh
	if !attnUseTwoPass(pairs, nkb, d.eng.Cores()) {
		tp.eng.parallelFor(pairs, d.group*nqb*nkb*tileCost, func(lo, hi int) {
			ws := getAttnScratch[T](tp.eng, d.bq, d.bk, d.dh)
			defer putAttnScratch(tp.eng, ws)
			for it := lo; it < hi; it++ {
				b, c := it/d.hkv, it%d.hkv
				for kb := 0; kb < nkb; kb++ { // the group's heads share each key block
					for h := c * d.group; h < (c+1)*d.group; h++ {
						attnBackwardKeyBlock(d, ws, g, b, h, kb, true)
					}
				}
			}
		})
		return
	}
	if g.dk != nil || g.dv != nil {
		tp.eng.parallelFor(pairs*nkb, d.group*nqb*tileCost, func(lo, hi int) {
			ws := getAttnScratch[T](tp.eng, d.bq, d.bk, d.dh)
			defer putAttnScratch(tp.eng, ws)
			for it := lo; it < hi; it++ {
				bc, kb := it/nkb, attnBlockOrder(it%nkb, nkb)
				b, c := bc/d.hkv, bc%d.hkv
				for h := c * d.group; h < (c+1)*d.group; h++ {
					attnBackwardKeyBlock(d, ws, g, b, h, kb, false)
				}
			}
		})
	}
	if g.dq != nil {
		tp.eng.parallelFor(d.b*d.h*nqb, nkb*tileCost, func(lo, hi int) {
			ws := getAttnScratch[T](tp.eng, d.bq, d.bk, d.dh)
			defer putAttnScratch(tp.eng, ws)
			for it := lo; it < hi; it++ {
				bh, qb := it/nqb, attnBlockOrder(it%nqb, nqb)
				last := min((qb+1)*d.bq, d.tq) - 1 // the block's last query
				for kb, kEnd := 0, d.keyEnd(d.off+last); kb*d.bk < kEnd; kb++ {
					attnBackwardTile(d, ws, g, bh/d.h, bh%d.h, qb, kb, true, false)
				}
			}
		})
	}
}

// attnUseTwoPass reports whether the two-pass backward schedule beats the
// fused one for the given number of (batch, key/value head) pairs, key blocks
// and workers. The fused schedule costs 5 block products per tile in
// ceil(pairs/workers) rounds; the two-pass one 7 per tile spread evenly, which
// needs at least one key block per worker.
func attnUseTwoPass(pairs, nkb, workers int) bool {
	rounds := (pairs + workers - 1) / workers
	return 7*pairs < 5*workers*rounds && pairs*nkb >= workers
}

// attnScoreGrad turns a row of probabilities into score gradients:
// row[j] *= dp[j] - delta, the softmax backward given delta = rowsum(dO ∘ O).
func attnScoreGrad[T Float](row, dp []T, delta T) {
	if r32, ok := any(row).([]float32); ok {
		done := scoreGradVec32(r32, any(dp).([]float32), float32(delta))
		row, dp = row[done:], dp[done:]
	}
	for j := range row {
		row[j] *= dp[j] - delta
	}
}

// attnDelta fills delta[b,h,i] = Σ_x dO[b,i,h,x]·O[b,i,h,x], the term the
// softmax gradient subtracts from each row.
func attnDelta[T Float](d *attnDims, g *attnBufs[T]) {
	d.eng.parallelFor(d.b*d.tq, d.h*d.dh, func(lo, hi int) {
		for n := lo; n < hi; n++ { // n = b*Tq + i
			b, i := n/d.tq, n%d.tq
			for h := 0; h < d.h; h++ {
				off := n*d.h*d.dh + h*d.dh
				o, do := g.o[off:off+d.dh], g.do[off:off+d.dh]
				var sum T
				for x, ov := range o {
					sum += ov * do[x]
				}
				g.delta[(b*d.h+h)*d.tq+i] = sum
			}
		}
	})
}

// attnBackwardKeyBlock runs key block kb of head h against every query block
// that sees it, accumulating dk and dv (and dq when withQ).
func attnBackwardKeyBlock[T Float](d *attnDims, ws *attnScratch[T], g *attnBufs[T], b, h, kb int, withQ bool) {
	first := 0
	if d.causal {
		first = max(kb*d.bk-d.off, 0) / d.bq // queries before it see none of the block
	}
	for qb := first; qb*d.bq < d.tq; qb++ {
		attnBackwardTile(d, ws, g, b, h, qb, kb, withQ, true)
	}
}

// attnBackwardTile recomputes the probabilities of query block qb against key
// block kb and accumulates that tile's share of dq (wantQ) and of dk, dv
// (wantKV):
//
//	P = exp(scale·Q·Kᵀ - lse)   dV += Pᵀ·dO   dP = dO·Vᵀ
//	dS = P ∘ (dP - delta)       dQ += scale·dS·K   dK += scale·dSᵀ·Q
func attnBackwardTile[T Float](d *attnDims, ws *attnScratch[T], g *attnBufs[T], b, h, qb, kb int, wantQ, wantKV bool) {
	i0, j0 := qb*d.bq, kb*d.bk
	nq := min(i0+d.bq, d.tq) - i0
	// Keys past what the block's last query sees are masked for every row.
	nk := min(j0+d.bk, d.keyEnd(d.off+i0+nq-1)) - j0
	qs, ks := d.h*d.dh, d.hkv*d.dh
	qoff := (b*d.tq+i0)*qs + h*d.dh
	koff := (b*d.tk+j0)*ks + (h/d.group)*d.dh
	rows := (b*d.h+h)*d.tq + i0 // index of row i0 in lse and delta
	scale := T(d.scale)
	s, dp := ws.s, ws.dp
	attnGemm(d.eng, false, true, nq, nk, d.dh, scale, g.q[qoff:], qs, g.k[koff:], ks, 0, s, d.bk)
	for r := 0; r < nq; r++ {
		row := s[r*d.bk : r*d.bk+nk]
		vis := d.visible(d.off+i0+r, j0, nk)
		attnExpRow(row[:vis], g.lse[rows+r])
		clear(row[vis:])
	}
	if wantKV && g.dv != nil { // dV [nk,Dh] += Pᵀ · dO
		attnGemm[T](d.eng, true, false, nk, d.dh, nq, 1, s, d.bk, g.do[qoff:], qs, 1, g.dv[koff:], ks)
	}
	needQ, needK := wantQ && g.dq != nil, wantKV && g.dk != nil
	if !needQ && !needK {
		return
	}
	attnGemm(d.eng, false, true, nq, nk, d.dh, 1, g.do[qoff:], qs, g.v[koff:], ks, 0, dp, d.bk)
	for r := 0; r < nq; r++ {
		row, dpr := s[r*d.bk:r*d.bk+nk], dp[r*d.bk:r*d.bk+nk]
		attnScoreGrad(row[:d.visible(d.off+i0+r, j0, nk)], dpr, g.delta[rows+r])
	}
	if needQ { // dQ [nq,Dh] += scale · dS · K
		attnGemm[T](d.eng, false, false, nq, d.dh, nk, scale, s, d.bk, g.k[koff:], ks, 1, g.dq[qoff:], qs)
	}
	if needK { // dK [nk,Dh] += scale · dSᵀ · Q
		attnGemm[T](d.eng, true, false, nk, d.dh, nq, scale, s, d.bk, g.q[qoff:], qs, 1, g.dk[koff:], ks)
	}
}
