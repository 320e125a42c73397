//go:build !(cgo && openblas)

package blas

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend names the implementation compiled in.
const Backend = "gonum"

var goBLAS gonum.Implementation

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// Sgemm is row-major single-precision C = alpha op(A) op(B) + beta C.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	goBLAS.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm is row-major double-precision C = alpha op(A) op(B) + beta C.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	goBLAS.Dgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SetThreads sets the threads one call may use (no-op without OpenBLAS).
func SetThreads(int) {}

// Threads returns the threads one call may use: always 1 without OpenBLAS.
func Threads() int { return 1 }
