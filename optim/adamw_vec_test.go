package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamWVectorMatchesGoLoop: the AVX-512 kernel gives the Go loop's
// results bit for bit, on lengths around the vector width.
func TestAdamWVectorMatchesGoLoop(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 33, 1000, 4099} {
		p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range p {
			p[i], g[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-2)
			m[i], v[i] = float32(rng.NormFloat64()*1e-3), float32(rng.Float64()*1e-4)
		}
		run := func(vec bool) ([]float32, []float32, []float32) {
			saved := hasAVX512
			hasAVX512 = vec
			defer func() { hasAVX512 = saved }()
			j := &adamwJob[float32]{p: append([]float32(nil), p...), g: g, m: append([]float32(nil), m...), v: append([]float32(nil), v...),
				b1: 0.9, ob1: 0.1, b2: 0.95, ob2: 0.05, decay: 1 - 3e-4, step: 3e-3 / (1 - 0.9), ibc2: 1.3, eps: 1e-8, gscale: 0.37}
			j.RunRange(0, n)
			return j.p, j.m, j.v
		}
		vp, vm, vv := run(true)
		gp, gm, gv := run(false)
		for i := 0; i < n; i++ {
			if vp[i] != gp[i] || vm[i] != gm[i] || vv[i] != gv[i] {
				t.Fatalf("n=%d element %d: vector p,m,v = %v,%v,%v; Go loop %v,%v,%v", n, i, vp[i], vm[i], vv[i], gp[i], gm[i], gv[i])
			}
		}
	}
}

// TestSumSquaresVectorMatchesGoLoop: the AVX-512 sum of squares gives the Go
// loop's sum bit for bit, on lengths around its 32 lanes, and both agree with
// a plain float64 sum.
func TestSumSquaresVectorMatchesGoLoop(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 95, 1000, 16411} {
		x := make([]float32, n)
		var plain float64
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 1e-2)
			plain += float64(x[i]) * float64(x[i])
		}
		run := func(vec bool) float64 {
			saved := hasAVX512
			hasAVX512 = vec
			defer func() { hasAVX512 = saved }()
			return sumSquares(x)
		}
		v, g := run(true), run(false)
		if math.Float64bits(v) != math.Float64bits(g) {
			t.Fatalf("n=%d: vector %.17g, Go loop %.17g", n, v, g)
		}
		if math.Abs(v-plain) > 1e-12*plain {
			t.Fatalf("n=%d: %.17g, plain sum %.17g", n, v, plain)
		}
	}
}
