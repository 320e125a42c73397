//go:build !amd64

package autograd

// hasTileKernel is false off amd64: block products run as loops or BLAS.
var hasTileKernel = false

func tileKernel8x32(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, alpha float32, accumulate bool) {
	panic("autograd: no tile kernel on this architecture")
}
