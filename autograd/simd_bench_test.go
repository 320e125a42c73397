package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkActKernels times each float32 activation kernel on one core, on
// every instruction set this CPU has and against the loop it replaced
// ("old"), from L1-sized slices to well past the last-level cache. Bytes
// count the slices read and written, so MB/s reads as memory throughput;
// ns/elem is per element.
func BenchmarkActKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(40, 41))
	n := 1 << 22
	x, u, g, d1, d2, o := actInputs(rng, n, false), actInputs(rng, n, false), actInputs(rng, n, false),
		actInputs(rng, n, false), actInputs(rng, n, false), make([]float32, n)
	kernels := []struct {
		name  string
		bytes int // per element
		new   func(n int)
		old   func(n int)
	}{
		{"sigmoidFwd", 8, func(n int) { sigmoidFwdF32(o[:n], x) }, func(n int) { oldSigmoidFwd(o[:n], x) }},
		{"sigmoidBwd", 16, func(n int) { sigmoidBwdF32(d1[:n], g, x) }, func(n int) { oldSigmoidBwd(d1[:n], g, x) }},
		{"siluFwd", 8, func(n int) { siluFwdF32(o[:n], x) }, func(n int) { oldSiLUFwd(o[:n], x) }},
		{"siluBwd", 16, func(n int) { siluBwdF32(d1[:n], g, x) }, func(n int) { oldSiLUBwd(d1[:n], g, x) }},
		{"swigluFwd", 12, func(n int) { swigluFwdF32(o[:n], x, u) }, func(n int) { oldSwiGLUFwd(o[:n], x, u) }},
		{"swigluBwd", 28, func(n int) { swigluBwdF32(d1[:n], d2, g, x, u, false) },
			func(n int) { oldSwiGLUBwd(d1[:n], d2, g, x, u) }},
	}
	impls := []string{"old"}
	for _, l := range actLevels() {
		impls = append(impls, [...]string{"go", "avx2", "avx512"}[l])
	}
	for _, k := range kernels {
		for _, size := range []int{1 << 12, 1 << 16, 1 << 20, 1 << 22} {
			for li, impl := range impls {
				f := k.new
				if impl == "old" {
					f = k.old
				}
				b.Run(fmt.Sprintf("%s/n=%d/%s", k.name, size, impl), func(b *testing.B) {
					if li > 0 {
						actSetSIMD(b, actLevels()[li-1])
					}
					b.SetBytes(int64(k.bytes * size))
					for b.Loop() {
						f(size)
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/elem")
				})
			}
		}
	}
}

// The float32 activation loops as they were before the kernels of
// activation_f32.go: math.Exp in float64, rounded to float32 at each step.
// They are the baseline of the benchmarks.

func oldSigmoidFwd(out, x []float32) {
	for i, v := range x[:len(out)] {
		out[i] = float32(actSigmoid(float64(v)))
	}
}

func oldSigmoidBwd(dx, g, x []float32) {
	for i, v := range x[:len(dx)] {
		dx[i] += g[i] * float32(actSigmoidGrad(float64(v)))
	}
}

func oldSiLUFwd(out, x []float32) {
	for i, v := range x[:len(out)] {
		out[i] = float32(float64(v) * actSigmoid(float64(v)))
	}
}

func oldSiLUBwd(dx, g, x []float32) {
	for i, v := range x[:len(dx)] {
		d, _ := actSiLUGrad(float64(v))
		dx[i] += g[i] * float32(d)
	}
}

func oldSwiGLUFwd(out, gate, up []float32) {
	for i, v := range gate[:len(out)] {
		out[i] = float32(float64(v)*actSigmoid(float64(v))) * up[i]
	}
}

func oldSwiGLUBwd(dg, du, g, gate, up []float32) {
	for i, v := range gate[:len(dg)] {
		d, silu := actSiLUGrad(float64(v))
		du[i] += g[i] * float32(silu)
		dg[i] += g[i] * up[i] * float32(d)
	}
}
