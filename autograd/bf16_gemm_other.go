//go:build !amd64

package autograd

// bf16GemmVec is false off amd64: GemmBF16 runs its portable loop.
const bf16GemmVec = false

// gemmBF16Tiled is never called off amd64 (bf16GemmVec is false); it runs
// the portable loop so that a stray call still computes the product.
func gemmBF16Tiled(m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) {
	gemmBF16Go(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}
