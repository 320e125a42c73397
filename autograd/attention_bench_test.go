package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// attnFlops counts the useful floating-point operations of a forward pass:
// 2·Dh for each score and 2·Dh for its share of the output, over B·H·Tq·Tk
// query-key pairs, half of which a causal mask skips.
func attnFlops(c attnCase) float64 {
	f := 4 * float64(c.b*c.h*c.tq*c.tk*c.dh)
	if c.causal {
		f /= 2
	}
	return f
}

// BenchmarkAttention sweeps sequence length and head layout in float32, for
// the forward pass alone and forward plus backward. The backward pass is
// counted as 2.5 forward passes (five block products to the forward's two),
// not counting the scores it recomputes.
func BenchmarkAttention(b *testing.B) {
	for _, causal := range []bool{true, false} {
		for _, t := range []int{128, 256, 512} {
			for _, hd := range [][3]int{{4, 4, 64}, {8, 2, 32}, {8, 4, 32}, {8, 8, 64}} {
				c := attnCase{8, t, t, hd[0], hd[1], hd[2], causal}
				b.Run("fwd/"+c.String(), func(b *testing.B) { attnBench(b, c, false) })
				b.Run("fwdbwd/"+c.String(), func(b *testing.B) { attnBench(b, c, true) })
			}
		}
	}
}

// BenchmarkAttentionDecode times one KV-cache decode step: one query per
// sequence against a cache of Tk keys.
func BenchmarkAttentionDecode(b *testing.B) {
	for _, tk := range []int{128, 512, 2048} {
		c := attnCase{8, 1, tk, 8, 2, 64, true}
		b.Run(c.String(), func(b *testing.B) { attnBench(b, c, false) })
	}
}

func attnBench(b *testing.B, c attnCase, backward bool) {
	flops := attnFlops(c)
	if backward {
		flops *= 3.5
	}
	step := attnBenchStep(b, c, backward)
	step() // fill the tape's pool and the gradient buffers: time the steady state
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// attnBenchStep returns one float32 attention pass over fixed random inputs
// (forward, and backward through a fixed projection when backward), which
// leaves its tape reset for the next.
func attnBenchStep(b *testing.B, c attnCase, backward bool) func() {
	rng := rand.New(rand.NewPCG(1, 1))
	q64, k64, v64 := c.inputs(rng)
	q, k, v := ToFloat32(q64), ToFloat32(k64), ToFloat32(v64)
	for _, x := range []*Tensor{q, k, v} {
		x.SetRequiresGrad(backward)
	}
	w := ToFloat32(RandN(rng, 1, c.b*c.tq*c.h*c.dh)).F32()
	tp := NewNoGradTape()
	if backward {
		tp = NewTape()
	}
	return func() {
		out := tp.Attention(q, k, v, c.causal)
		if backward {
			if err := tp.Backward(tp.project(out, w)); err != nil {
				b.Fatal(err)
			}
		}
		tp.Reset()
	}
}

// BenchmarkAttnBlockProduct compares BLAS with the plain loops on the block
// products attention runs (a score tile q·kᵀ), to place attnGemmMinWork.
func BenchmarkAttnBlockProduct(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sz := range [][3]int{
		{2, 2, 2}, {1, 4, 4}, {4, 4, 4}, {1, 8, 8}, {1, 16, 16}, {8, 8, 8}, {4, 16, 16},
		{16, 16, 16}, {1, 64, 64}, {4, 64, 64}, {64, 64, 16}, {64, 64, 64},
	} {
		m, n, k := sz[0], sz[1], sz[2]
		a := ToFloat32(RandN(rng, 1, m*k)).F32()
		bt := ToFloat32(RandN(rng, 1, n*k)).F32()
		c := make([]float32, m*n)
		for _, impl := range []struct {
			name string
			f    func(bool, bool, int, int, int, float32, []float32, int, []float32, int, float32, []float32, int)
		}{{"blas", bindGEMM(DefaultEngine(), gemm[float32])}, {"loops", attnLoopGemm[float32]}} {
			b.Run(fmt.Sprintf("%s/m%d_n%d_k%d", impl.name, m, n, k), func(b *testing.B) {
				for range b.N {
					impl.f(false, true, m, n, k, 1, a, k, bt, k, 0, c, n)
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkAttnExpRow compares the float32 exponential of the softmax rows
// with math.Exp, per element.
func BenchmarkAttnExpRow(b *testing.B) {
	src := make([]float32, 128)
	for i := range src {
		src[i] = -float32(i) * 0.1
	}
	row := make([]float32, len(src))
	for _, impl := range []struct {
		name string
		f    func([]float32, float32) float32
	}{
		{"attnExpRow32", attnExpRow32},
		{"float64-lanes", func(r []float32, shift float32) float32 { return float32(expSubSumF32(r, r, shift)) }},
		{"math.Exp", attnMathExpRow32},
	} {
		b.Run(impl.name, func(b *testing.B) {
			for range b.N {
				copy(row, src)
				impl.f(row, 0.5)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(row)), "ns/elem")
		})
	}
}

func attnMathExpRow32(row []float32, shift float32) float32 {
	var sum float32
	for j, x := range row {
		row[j] = float32(math.Exp(float64(x - shift)))
		sum += row[j]
	}
	return sum
}
