package autograd

// gemm32 is the signature of a float32 GEMM bound to an engine, the form the
// GEMM tests and benchmarks compare routes in.
type gemm32 = func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// bindGEMM binds an engine-taking float32 GEMM to e.
func bindGEMM(e *Engine, f func(e *Engine, ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) gemm32 {
	return func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		f(e, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}
