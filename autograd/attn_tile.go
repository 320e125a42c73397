package autograd

import "unsafe"

// Attention's block products have one side of Dh = 32 or 64 and the other
// of a block's 64-128 rows, too small for a BLAS call to pay off (measured:
// about 40 GFLOP/s per core against 90 for large products, each call packing
// both operands). tileGemm runs them on an AVX-512 kernel that keeps an 8x32
// block of C in registers and reads A in place, whichever its layout.

const (
	tileRows = 8  // rows of C per kernel call
	tileCols = 32 // columns of C per kernel call
)

// tileCopy holds a transposed B operand copied as op(B) [k,n], so that the
// kernel reads its rows, and remembers which block it holds: attention's
// backward pass multiplies by the same key and value blocks for every query
// block, and copies each once. The operands must not change while a
// tileCopy is in use (attention's inputs do not, within one call).
type tileCopy[T Float] struct {
	buf       []T // at least k·n elements
	src       *T  // first element of the block held, nil when none
	n, k, ldb int
}

// of returns op(B) [k,n] of b [n,k] with row stride ldb, copying it unless it
// is the block already held.
func (tc *tileCopy[T]) of(b []T, n, k, ldb int) []T {
	if tc.src == &b[0] && tc.n == n && tc.k == k && tc.ldb == ldb {
		return tc.buf[:k*n]
	}
	bt := tc.buf[:k*n]
	transposeInto(b, ldb, n, k, bt, n)
	tc.src, tc.n, tc.k, tc.ldb = &b[0], n, k, ldb
	return bt
}

// tileGemm computes C = alpha·op(A)·op(B) + beta·C in gemm's conventions for
// float32 blocks of at least 8x32 with beta 0 or 1, on the tile kernel;
// anything else goes to attnGemm. A transposed B is read through bt.
func tileGemm[T Float](bt *tileCopy[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if !hasAVX512 || m < tileRows || n < tileCols || k == 0 || (beta != 0 && beta != 1) || unsafe.Sizeof(alpha) != 4 {
		attnGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if transB {
		b, ldb, transB = bt.of(b, n, k, ldb), n, false
	}
	ars, acs := lda, 1 // op(A)[i,p] = a[i*ars + p*acs]
	if transA {
		ars, acs = 1, lda
	}
	// Every index the kernel reads or writes lies below these.
	_ = a[(m-1)*ars+(k-1)*acs]
	_ = b[(k-1)*ldb+n-1]
	_ = c[(m-1)*ldc+n-1]
	a32, b32, c32 := any(a).([]float32), any(b).([]float32), any(c).([]float32)
	m8, n32 := m&^(tileRows-1), n&^(tileCols-1)
	for i := 0; i < m8; i += tileRows {
		for j := 0; j < n32; j += tileCols {
			tileKernel8x32(k, &a32[i*ars], ars, acs, &b32[j], ldb, &c32[i*ldc+j], ldc, float32(alpha), beta == 1)
		}
	}
	sub := func(i0, m, j0, n int) { // rows [i0, i0+m), columns [j0, j0+n) as loops
		if m > 0 && n > 0 {
			attnLoopGemm(transA, false, m, n, k, alpha, a[i0*ars:], lda, b[j0:], ldb, beta, c[i0*ldc+j0:], ldc)
		}
	}
	sub(0, m8, n32, n-n32)
	sub(m8, m-m8, 0, n)
}
