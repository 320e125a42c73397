package optim

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// adamwBytesPerElem is the float32 memory traffic of one fused update: read
// p, g, m, v and write p, m, v.
const adamwBytesPerElem = 7 * 4

var benchSizes = []int{1 << 20, 4 << 20, 10 << 20}

// BenchmarkAdamWStep reports AdamW throughput (MB/s of memory traffic) on
// one float32 parameter, on one core and on all of them.
func BenchmarkAdamWStep(b *testing.B) {
	for _, n := range benchSizes {
		for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("params=%dM/procs=%d", n>>20, procs), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				rng := rand.New(rand.NewPCG(1, 1))
				p := randParam32(rng, "w", n)
				fillGrads32(rng, 1, p)
				o := mustAdamW(b, []*autograd.Tensor{p}, DefaultAdamWConfig())
				o.Step()
				b.SetBytes(adamwBytesPerElem * int64(n))
				b.ResetTimer()
				for b.Loop() {
					o.Step()
				}
			})
		}
	}
}

// BenchmarkClipGradNorm reports the gradient-norm pass (reads 4 bytes per
// element; clipping is disabled so every iteration does the same work).
func BenchmarkClipGradNorm(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("params=%dM", n>>20), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			p := randParam32(rng, "w", n)
			fillGrads32(rng, 1, p)
			params := []*autograd.Tensor{p}
			b.SetBytes(4 * int64(n))
			for b.Loop() {
				ClipGradNorm(params, 0)
			}
		})
	}
}
