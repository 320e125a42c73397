package autograd

import (
	"testing"
	"time"
)

// BenchmarkAttentionTileVsBLAS times forward plus backward causal attention
// at the head widths of the tiny and small presets with the AVX-512 tile
// kernels (block products, row maxima, exponentials, score gradients) and
// without them (block products on BLAS, rows as Go loops), alternating
// within each iteration so that both see the same machine; it reports
// microseconds per pass for each.
func BenchmarkAttentionTileVsBLAS(b *testing.B) {
	for _, c := range []attnCase{{16, 256, 256, 8, 4, 32, true}, {8, 128, 128, 4, 4, 32, true}} {
		b.Run(c.String(), func(b *testing.B) {
			step := attnBenchStep(b, c, true)
			step()
			var dt [2]time.Duration
			saved := hasAVX512
			for range b.N {
				for i, on := range []bool{true, false} {
					hasAVX512 = on
					t := time.Now()
					step()
					dt[i] += time.Since(t)
				}
			}
			hasAVX512 = saved
			b.ReportMetric(float64(dt[0].Microseconds())/float64(b.N), "us/pass-tile")
			b.ReportMetric(float64(dt[1].Microseconds())/float64(b.N), "us/pass-blas")
		})
	}
}
