package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd/internal/blas"
)

// BenchmarkSgemmTiledVsBLAS times the tile GEMM and one single-threaded BLAS
// call on the same operands, alternately in each iteration, on the shapes a
// `small` training step multiplies most (an expert's tokens by its weights,
// forward x·Wᵀ, backward dY·W and the weight gradient Xᵀ·dY over all
// tokens). It reports each one's best GFLOP/s and tiles/blas, their ratio.
func BenchmarkSgemmTiledVsBLAS(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, s := range []struct {
		m, n, k int
		ta, tb  bool
	}{
		{512, 512, 256, false, true}, {512, 256, 512, false, false}, {512, 256, 512, false, true},
		{256, 512, 512, true, false}, {2048, 256, 256, false, true}, {256, 256, 2048, true, false},
	} {
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		rng := rand.New(rand.NewPCG(1, 2))
		x, w := RandN(rng, 1, s.m*s.k).F64(), RandN(rng, 1, s.k*s.n).F64()
		a, bm, c := make([]float32, len(x)), make([]float32, len(w)), make([]float32, s.m*s.n)
		for i, v := range x {
			a[i] = float32(v)
		}
		for i, v := range w {
			bm[i] = float32(v)
		}
		name := fmt.Sprintf("M=%d,N=%d,K=%d,tA=%v,tB=%v", s.m, s.n, s.k, s.ta, s.tb)
		b.Run(name, func(b *testing.B) {
			best := [2]time.Duration{time.Hour, time.Hour}
			for range b.N {
				for i, run := range []func(){
					func() { sgemmTiled(DefaultEngine(), s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n) },
					func() { blas.Sgemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n) },
				} {
					start := time.Now()
					run()
					best[i] = min(best[i], time.Since(start))
				}
			}
			flops := 2 * float64(s.m*s.n*s.k)
			b.ReportMetric(flops/best[0].Seconds()/1e9, "tiles-GFLOP/s")
			b.ReportMetric(flops/best[1].Seconds()/1e9, "blas-GFLOP/s")
			b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "tiles/blas")
		})
	}
}

// BenchmarkSgemmTiledInPlaceB times the tile GEMM with a plain B read in
// place against the same product with B packed into panels (Engine.packPlainB),
// alternately in each iteration, on one core: with B cycling through 32 MB of
// matrices ("cold", as an expert's weight comes in from memory; each route
// on a B the other has not just read) and with one B that stays in cache
// ("cached", as an output gradient just written). A and C stay cached. It
// reports each route's mean GFLOP/s and their ratio.
func BenchmarkSgemmTiledInPlaceB(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	for _, s := range [][3]int{{64, 512, 256}, {128, 256, 512}, {128, 512, 256}, {512, 256, 512}, {2048, 256, 256}, {128, 1024, 256}, {512, 4096, 256}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		bs := make([][]float32, max(3, (32<<20)/(4*k*n))|1) // an odd count: the routes take turns on each
		for i := range bs {
			bs[i] = randFloat32s(rng, k*n)
		}
		a, c := randFloat32s(rng, m*k), make([]float32, m*n)
		for _, cold := range []bool{true, false} {
			name := fmt.Sprintf("M=%d,N=%d,K=%d,B=cached", m, n, k)
			if cold {
				name = fmt.Sprintf("M=%d,N=%d,K=%d,B=cold", m, n, k)
			}
			b.Run(name, func(b *testing.B) {
				e := NewEngine(EngineOptions{Cores: 1})
				var took [2]time.Duration
				for it := range b.N {
					for i, packed := range []bool{false, true} {
						bm := bs[0]
						if cold {
							bm = bs[(2*it+i)%len(bs)]
						}
						e.packPlainB = packed
						start := time.Now()
						sgemmTiled(e, false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
						took[i] += time.Since(start)
					}
				}
				reportRoutes(b, 2*float64(m*n*k)*float64(b.N), took, "inplace", "packed")
			})
		}
	}
}

// BenchmarkSgemmTiledPrefetch times the tile GEMM with the kernel asking for
// the next calls' operands (Engine.tilePrefetch) and without, alternately, on one
// core, with A, B and C cycling through 64 MB of matrices, so that each call
// finds its operands in memory, as a training step's GEMMs find the
// activations and weights the layers before them pushed out of cache. It
// reports each route's mean GFLOP/s and their ratio.
func BenchmarkSgemmTiledPrefetch(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	e := NewEngine(EngineOptions{Cores: 1})
	for _, s := range []struct {
		m, n, k int
		ta, tb  bool
	}{
		{512, 512, 256, false, true}, {512, 256, 512, false, false}, {256, 512, 512, true, false}, {128, 256, 2048, true, false}, {64, 128, 32, false, false},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		sets := max(3, (64<<20)/(4*(s.m*s.k+s.k*s.n+s.m*s.n))) | 1 // odd: the routes take turns on each
		as, bs, cs := make([][]float32, sets), make([][]float32, sets), make([][]float32, sets)
		for i := range sets {
			as[i], bs[i], cs[i] = randFloat32s(rng, s.m*s.k), randFloat32s(rng, s.k*s.n), randFloat32s(rng, s.m*s.n)
		}
		lda, ldb := s.k, s.n
		if s.ta {
			lda = s.m
		}
		if s.tb {
			ldb = s.k
		}
		b.Run(fmt.Sprintf("M=%d,N=%d,K=%d,tA=%v,tB=%v", s.m, s.n, s.k, s.ta, s.tb), func(b *testing.B) {
			var took [2]time.Duration
			for it := range b.N {
				for i, on := range []bool{true, false} {
					x := (2*it + i) % sets
					e.tilePrefetch = on
					start := time.Now()
					sgemmTiled(e, s.ta, s.tb, s.m, s.n, s.k, 1, as[x], lda, bs[x], ldb, 0, cs[x], s.n)
					took[i] += time.Since(start)
				}
			}
			reportRoutes(b, 2*float64(s.m*s.n*s.k)*float64(b.N), took, "prefetch", "plain")
		})
	}
}

// reportRoutes reports two routes' mean GFLOP/s over flops each and the
// ratio of the second's time to the first's.
func reportRoutes(b *testing.B, flops float64, took [2]time.Duration, first, second string) {
	b.ReportMetric(flops/took[0].Seconds()/1e9, first+"-GFLOP/s")
	b.ReportMetric(flops/took[1].Seconds()/1e9, second+"-GFLOP/s")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), second+"/"+first)
}
