package autograd

import (
	"time"

	"github.com/moetrain/moetrain/autograd/internal/blas"
)

// gemm computes C = alpha * op(A) * op(B) + beta * C for row-major matrices,
// where op(X) is X or X^T. A is m x k after op, B is k x n after op, C is m x n;
// lda, ldb, ldc are the row strides of A, B, C as stored.
//
// Go owns the cores: each part runs single-threaded (gemmSerial; the BLAS
// gets SetBLASThreads(1) at start-up) and a large product is split into row
// (or column) blocks of C that the cores claim (SplitRange, gemmChunks). A
// BLAS with its own thread pool beside Go's scheduler oversubscribes the
// cores and spins; this way kernels that are not GEMM parallelise the same
// way and nothing fights.
func gemm[T Float](e *Engine, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleInPlace(c, beta, m, n, ldc)
		return
	}
	cores := e.Cores()
	if cores <= 1 || m*n*k < minParallelGEMM {
		gemmSerial(e, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m >= n { // split rows of C (and of op(A))
		e.SplitRange(m, gemmChunks(m, cores), RangeFunc(func(lo, hi int) {
			aOff := lo * lda // row lo of op(A)
			if transA {
				aOff = lo // column lo of stored A
			}
			gemmSerial(e, transA, transB, hi-lo, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		}))
		return
	}
	// split columns of C (and of op(B))
	e.SplitRange(n, gemmChunks(n, cores), RangeFunc(func(lo, hi int) {
		bOff := lo // column lo of stored B
		if transB {
			bOff = lo * ldb // row lo of stored B
		}
		gemmSerial(e, transA, transB, m, hi-lo, k, alpha, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
	}))
}

// minParallelGEMM is the m*n*k below which splitting a GEMM costs more than it
// saves (about 0.1 ms of single-core work).
const minParallelGEMM = 1 << 21

// gemmChunks is how many chunks to split a GEMM's m rows (or n columns)
// into: one per core, and more only while each keeps gemmChunkRows. Every
// chunk packs a transposed other operand again, which costs more the fewer
// rows a chunk has (BENCHMARKS.md, "Kernel constants").
func gemmChunks(m, cores int) int {
	return max(min(cores, m/16), min(chunksPerCore*cores, m/gemmChunkRows))
}

// gemmChunkRows is the fewest rows (or columns) a chunk beyond one per core
// may have.
const gemmChunkRows = 512

// gemmSerial runs one product on the calling core: float32 on the tile
// GEMM where the CPU has AVX-512 (sgemm_tiled.go), everything else as one
// single-threaded BLAS call.
func gemmSerial[T Float](e *Engine, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if e.account.on.Load() {
		defer e.account.add(m, n, k, time.Now())
	}
	switch any(alpha).(type) {
	case float32:
		if hasAVX512 {
			sgemmTiled(e, transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
			return
		}
		blas.Sgemm(transA, transB, m, n, k, float32(alpha), any(a).([]float32), lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case float64:
		blas.Dgemm(transA, transB, m, n, k, float64(alpha), any(a).([]float64), lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
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

// BLASBackend names the BLAS compiled in ("openblas" or "gonum").
func BLASBackend() string { return blas.Backend }

// GEMMBackend names what runs float32 products on this machine: the tile
// GEMM ("avx512-tiles") or the BLAS.
func GEMMBackend() string {
	if hasAVX512 {
		return "avx512-tiles"
	}
	return blas.Backend
}

// SetBLASThreads sets how many threads the BLAS may use inside one call (a
// no-op for the pure Go backend). moetrain sets 1 at start-up and splits large
// products across goroutines itself; raise it only for programs that call
// GEMM from a single goroutine and run nothing else in parallel.
func SetBLASThreads(n int) { blas.SetThreads(n) }

// BLASThreads returns the threads the BLAS may use inside one call: 1 unless
// a program raised it with SetBLASThreads.
func BLASThreads() int { return blas.Threads() }

func init() { blas.SetThreads(1) }

// sgemm is the raw BLAS call (on as many threads as SetBLASThreads last
// set), for the benchmarks that compare the ops against it.
func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SIMDBackend names the vector instruction set the float32 elementwise and
// exp kernels use on this CPU: "avx512", "avx2" or "go" (portable code).
func SIMDBackend() string {
	switch actSIMD {
	case actSIMDAVX512:
		return "avx512"
	case actSIMDAVX2:
		return "avx2"
	}
	return "go"
}
