//go:build !amd64

package autograd

func tileKernel8x32(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, alpha float32, accumulate bool, pf *float32, pfStride, pfSteps int, cNext *float32) {
	panic("autograd: no tile kernel on this architecture")
}

func rowMaxVec32(row []float32, m float32) (float32, int) { return m, 0 }
func scoreGradVec32(row, dp []float32, delta float32) int { return 0 }
