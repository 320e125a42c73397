package autograd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestEngineGemmBF16SplitsExactly: the product on an engine of 2 and 3
// cores is bit-identical to the one-core product, for shapes whose rows
// split unevenly and leave remainder tiles, accumulating or not, with
// padded strides. Mutations caught: a block's rows offset by one tile (the
// result shifts); the last block's rows not clipped to m (the padding past
// row m is written, the sentinel check fails); C offset by r0 without ldc
// (wrong rows).
func TestEngineGemmBF16SplitsExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cores := range []int{2, 3} {
		e := NewEngine(EngineOptions{Cores: cores})
		defer e.Close()
		for _, s := range [][3]int{{131, 97, 256}, {12, 300, 600}, {200, 64, 161}} {
			for _, acc := range []bool{false, true} {
				m, n, k := s[0], s[1], s[2]
				lda, ldb, ldc := k+3, k+1, n+2
				a, b := randBF16(rng, m*lda, 1), randBF16(rng, n*ldb, 1)
				want := make([]float32, (m+1)*ldc)
				for i := range want {
					want[i] = sentinel
				}
				got := slices.Clone(want)
				if err := GemmBF16(m, n, k, a, lda, b, ldb, want, ldc, acc); err != nil {
					t.Fatal(err)
				}
				if err := e.GemmBF16(m, n, k, a, lda, b, ldb, got, ldc, acc); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%d cores, %dx%dx%d, accumulate %v: differs from the one-core product", cores, m, n, k, acc)
				}
			}
		}
		if err := e.GemmBF16(4, 4, 4, make([]BF16, 3), 4, make([]BF16, 16), 4, make([]float32, 16), 4, false); err == nil {
			t.Error("a short A was accepted")
		}
	}
}

// BenchmarkEngineGemmBF16 times GemmBF16 on every core of the default
// engine against one core, alternately, and reports the speed-up.
func BenchmarkEngineGemmBF16(b *testing.B) {
	m, n, k := 512, 1024, 1024
	rng := rand.New(rand.NewPCG(1, 2))
	ah, bh := randBF16(rng, m*k, 1), randBF16(rng, n*k, 1)
	c := make([]float32, m*n)
	e := DefaultEngine()
	b.Run(fmt.Sprintf("M=%d,N=%d,K=%d,cores=%d", m, n, k, e.Cores()), func(b *testing.B) {
		best := [2]time.Duration{time.Hour, time.Hour}
		for range b.N {
			for i, run := range []func() error{
				func() error { return e.GemmBF16(m, n, k, ah, k, bh, k, c, n, false) },
				func() error { return GemmBF16(m, n, k, ah, k, bh, k, c, n, false) },
			} {
				start := time.Now()
				if err := run(); err != nil {
					b.Fatal(err)
				}
				best[i] = min(best[i], time.Since(start))
			}
		}
		flops := 2 * float64(m*n*k)
		b.ReportMetric(flops/best[0].Seconds()/1e9, "all-cores-GFLOP/s")
		b.ReportMetric(flops/best[1].Seconds()/1e9, "one-core-GFLOP/s")
		b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "speedup")
	})
}
