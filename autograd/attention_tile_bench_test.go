package autograd

import (
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkAttentionTileVsBLAS times forward plus backward causal attention
// at the head widths of the tiny and small presets with the AVX-512 tile
// kernels (block products, row maxima, score gradients) and without them
// (block products on BLAS, rows as Go loops), alternating within each
// iteration so that both see the same machine; it reports microseconds per
// pass for each.
func BenchmarkAttentionTileVsBLAS(b *testing.B) {
	for _, c := range []attnCase{{16, 256, 256, 8, 4, 32, true}, {8, 128, 128, 4, 4, 32, true}} {
		b.Run(c.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			q64, k64, v64 := c.inputs(rng)
			q, k, v := ToFloat32(q64), ToFloat32(k64), ToFloat32(v64)
			for _, x := range []*Tensor{q, k, v} {
				x.SetRequiresGrad(true)
			}
			w := ToFloat32(RandN(rng, 1, c.b*c.tq*c.h*c.dh)).F32()
			tp := NewTape()
			step := func() {
				out := tp.Attention(q, k, v, c.causal)
				if err := tp.Backward(tp.project(out, w)); err != nil {
					b.Fatal(err)
				}
				tp.Reset()
			}
			step()
			var dt [2]time.Duration
			saved := hasTileKernel
			for range b.N {
				for i, on := range []bool{true, false} {
					hasTileKernel = on
					t := time.Now()
					step()
					dt[i] += time.Since(t)
				}
			}
			hasTileKernel = saved
			b.ReportMetric(float64(dt[0].Microseconds())/float64(b.N), "us/pass-tile")
			b.ReportMetric(float64(dt[1].Microseconds())/float64(b.N), "us/pass-blas")
		})
	}
}
