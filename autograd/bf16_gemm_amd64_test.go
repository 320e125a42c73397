package autograd

// Mutations caught: none; this file holds the kernel's benchmark, whose
// correctness the tests in bf16_gemm_test.go cover.

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGemmBF16Kernel times the 6x64 kernel alone on operands that
// stay in L1 (A's six rows and one packed panel of 128 pairs), the ceiling
// GemmBF16's blocking can approach.
func BenchmarkGemmBF16Kernel(b *testing.B) {
	if !bf16GemmVec {
		b.Skip("this CPU lacks AVX512-BF16 (or AVX-512F)")
	}
	const kp = 128
	rng := rand.New(rand.NewPCG(1, 2))
	a := randBF16(rng, bf16TileRows*2*kp, 1)
	bh := randBF16(rng, bf16TileCols*2*kp, 1)
	packed := make([]uint32, bf16TileCols*kp)
	packBF16Panels(bh, 2*kp, bf16TileCols, 0, 2*kp, packed)
	c := make([]float32, bf16TileRows*bf16TileCols)
	b.ResetTimer()
	for range b.N {
		bf16Kernel6x64(kp, &a[0], 2*kp, &packed[0], &c[0], bf16TileCols, 1)
	}
	b.ReportMetric(2*float64(bf16TileRows*bf16TileCols*2*kp)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
