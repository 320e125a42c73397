package autograd

// tileKernel8x32 is one 8x32 block of C = alpha·A·B (+ C when accumulate),
// A read as a[r*ars + p*acs], B and C by rows (attn_tile_amd64.s). It
// prefetches two cache lines at pf + s·pfStride for s < pfSteps, and the
// 8x32 block of C at cNext unless nil. The caller checks every index it
// reads or writes; prefetched addresses need not be valid.
//
//go:noescape
func tileKernel8x32(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, alpha float32, accumulate bool, pf *float32, pfStride, pfSteps int, cNext *float32)

//go:noescape
func rowMaxAVX512(p *float32, n int, m float32) float32

//go:noescape
func scoreGradAVX512(row, dp *float32, n int, delta float32)

// rowMaxVec32 folds the longest multiple-of-16 prefix of row into the
// running maximum m and returns the new maximum and the prefix length.
func rowMaxVec32(row []float32, m float32) (float32, int) {
	n := len(row) &^ 15
	if !hasAVX512 || n == 0 {
		return m, 0
	}
	return rowMaxAVX512(&row[0], n, m), n
}

// scoreGradVec32 sets row[j] *= dp[j] - delta over the longest
// multiple-of-16 prefix of row (dp at least as long) and returns its length.
func scoreGradVec32(row, dp []float32, delta float32) int {
	n := len(row) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	_ = dp[n-1]
	scoreGradAVX512(&row[0], &dp[0], n, delta)
	return n
}
