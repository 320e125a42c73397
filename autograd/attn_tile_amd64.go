package autograd

import "golang.org/x/sys/cpu"

// hasTileKernel selects the AVX-512 kernel of attention's block products;
// tests clear it to cover the plain loops.
var hasTileKernel = cpu.X86.HasAVX512F

// tileKernel8x32 is one 8x32 block of C = alpha·A·B (+ C when accumulate),
// A read as a[r*ars + p*acs], B and C by rows (attn_tile_amd64.s). The
// caller checks every index it touches.
//
//go:noescape
func tileKernel8x32(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, alpha float32, accumulate bool)
