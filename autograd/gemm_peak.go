package autograd

import (
	"context"
	"math/rand/v2"
	"time"
)

// GEMMPeak measures this machine's float32 GEMM rate in GFLOP/s on n×n
// products, each way for about d: through the package's own route (the
// product split across cores, each part on one core: the tile GEMM on
// AVX-512, the BLAS single-threaded elsewhere) and as one
// BLAS call on the BLAS's own threads, one per core, sharing their packed
// panels. It returns the better: MFU figures are taken against what the
// machine can do, not against what moetrain happens to reach.
func GEMMPeak(ctx context.Context, n int, d time.Duration) float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := New(Float32, n, n), New(Float32, n, n)
	for i := range a.F32() {
		a.F32()[i], b.F32()[i] = rng.Float32(), rng.Float32()
	}
	c := make([]float32, n*n)
	flops := 2 * float64(n) * float64(n) * float64(n)
	rate := func(run func()) float64 {
		run() // warm up
		iters, start := 0, time.Now()
		for iters == 0 || time.Since(start) < d && ctx.Err() == nil { // at least one timed run
			run()
			iters++
		}
		return flops * float64(iters) / time.Since(start).Seconds() / 1e9
	}
	split := rate(func() { gemm(false, false, n, n, n, 1, a.F32(), n, b.F32(), n, 0, c, n) })
	SetBLASThreads(Cores())
	defer SetBLASThreads(1)
	whole := rate(func() { sgemm(false, false, n, n, n, 1, a.F32(), n, b.F32(), n, 0, c, n) })
	return max(split, whole)
}
