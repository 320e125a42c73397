package autograd

// gemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// where op(X) is X or X^T. A is m x k after op, B is k x n after op, C is m x n;
// lda, ldb, ldc are the row strides of A, B, C as stored.
// The implementation is OpenBLAS (build tag openblas) or gonum's pure Go BLAS.
func gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleInPlace(c, beta, m, n, ldc)
		return
	}
	switch any(alpha).(type) {
	case float32:
		sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case float64:
		dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func scaleInPlace[T Float](c []T, beta T, m, n, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// BLASBackend names the GEMM implementation compiled in ("openblas" or "gonum").
func BLASBackend() string { return blasBackend }

// SetBLASThreads sets how many threads the BLAS may use for one GEMM (a no-op
// for the pure Go backend, which runs single-threaded per call).
func SetBLASThreads(n int) { setBLASThreads(n) }
