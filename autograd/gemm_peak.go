package autograd

import (
	"context"
	"math/rand/v2"
	"time"
)

// GEMMPeak measures the float32 GEMM rate in GFLOP/s that this engine's own
// route reaches on n×n products, for about d: the product split across the
// engine's cores, each part on one core (the tile GEMM on AVX-512, the BLAS
// single-threaded elsewhere). It changes no process-wide setting.
func (e *Engine) GEMMPeak(ctx context.Context, n int, d time.Duration) float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := New(Float32, n, n), New(Float32, n, n)
	for i := range a.F32() {
		a.F32()[i], b.F32()[i] = rng.Float32(), rng.Float32()
	}
	c := make([]float32, n*n)
	flops := 2 * float64(n) * float64(n) * float64(n)
	return flops * runRate(ctx, d, func() { gemm(e, false, false, n, n, n, 1, a.F32(), n, b.F32(), n, 0, c, n) }) / 1e9
}

// FMAPeak measures the machine's float32 fused multiply-add peak in GFLOP/s
// over the engine's cores, for about d: every core runs a loop of
// independent vector FMAs on registers (AVX-512 where the CPU has it), which
// no real kernel can beat. It reports 0 where no vector FMA kernel exists
// for this CPU.
func (e *Engine) FMAPeak(ctx context.Context, d time.Duration) float64 {
	if !hasFMAPeakKernel() {
		return 0
	}
	const iters = 1 << 16
	cores := e.Cores()
	perCall := float64(cores) * float64(iters) * fmaPeakFLOPsPerIter
	return perCall * runRate(ctx, d, func() {
		e.SplitRange(cores, cores, RangeFunc(func(lo, hi int) {
			for range hi - lo {
				fmaPeakLoop(iters)
			}
		}))
	}) / 1e9
}

// runRate calls run once to warm up, then repeatedly for about d (at least
// once), and returns the calls per second.
func runRate(ctx context.Context, d time.Duration, run func()) float64 {
	run()
	iters, start := 0, time.Now()
	for iters == 0 || time.Since(start) < d && ctx.Err() == nil {
		run()
		iters++
	}
	return float64(iters) / time.Since(start).Seconds()
}
