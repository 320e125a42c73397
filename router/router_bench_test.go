package router

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// BenchmarkRoute times one float32 training-mode Route (forward only, on a
// recording tape) at N = 2048 tokens, D = 256, K = 2.
func BenchmarkRoute(b *testing.B) {
	const n, d, k = 2048, 256, 2
	for _, e := range []int{8, 64} {
		for _, typ := range []string{TopKSoftmax, Sigmoid} {
			b.Run(fmt.Sprintf("%s/E=%d", typ, e), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				cfg := Config{NumExperts: e, TopK: k, Type: typ, Normalize: true}
				r, err := New(cfg, d, 0.02, rng)
				if err != nil {
					b.Fatal(err)
				}
				x := autograd.ToFloat32(autograd.RandN(rng, 1, n, d))
				tp := autograd.NewTape()
				b.ReportAllocs()
				for b.Loop() {
					r.Route(tp, x, true, rng)
					tp.Reset()
				}
			})
		}
	}
}

// BenchmarkRouteBackward times Route plus Backward of a projection of the
// combine weights and the load-balancing-style sum of probs.
func BenchmarkRouteBackward(b *testing.B) {
	const n, d, k = 2048, 256, 2
	for _, e := range []int{8, 64} {
		b.Run(fmt.Sprintf("E=%d", e), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			r, err := New(DefaultConfig(e, k), d, 0.02, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := autograd.ToFloat32(autograd.RandN(rng, 1, n, d))
			proj := autograd.ToFloat32(autograd.RandN(rng, 1, n*k, 1)) // dropless: M = N*K
			tp := autograd.NewTape()
			b.ReportAllocs()
			for b.Loop() {
				rt := r.Route(tp, x, true, rng)
				loss := tp.Add(tp.Sum(tp.Mul(rt.Weight, proj)), tp.Sum(rt.Probs))
				if err := tp.Backward(loss); err != nil {
					b.Fatal(err)
				}
				tp.Reset()
			}
		})
	}
}
