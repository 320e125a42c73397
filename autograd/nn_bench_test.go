package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the nn ops in float32, the training dtype. SetBytes counts
// the minimum memory traffic of one iteration (each tensor read or written
// once per pass), so the reported MB/s is an effective bandwidth.

// nnBenchBackward seeds out's gradient with ones and runs every op recorded
// on tp in reverse, without a scalar loss.
func nnBenchBackward(tp *Tape, out *Tensor) {
	g := gradOf[float32](tp, out)
	for i := range g {
		g[i] = 1
	}
	for i := len(tp.records) - 1; i >= 0; i-- {
		tp.records[i].backward()
	}
}

func nnBenchParam(rng *rand.Rand, shape ...int) *Tensor {
	x := ToFloat32(RandN(rng, 1, shape...))
	x.SetRequiresGrad(true)
	return x
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = -float32(i%300) * 0.05
	}
	var sink float32
	b.Run("nnExp-float32", func(b *testing.B) {
		b.SetBytes(int64(4 * len(xs)))
		for b.Loop() {
			for _, x := range xs {
				sink += nnExp(x)
			}
		}
	})
	b.Run("math.Exp", func(b *testing.B) {
		b.SetBytes(int64(4 * len(xs)))
		for b.Loop() {
			for _, x := range xs {
				sink += float32(math.Exp(float64(x)))
			}
		}
	})
	_ = sink
}

func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []int{64, 256, 1024, 4096, 32768} {
		rows := (1 << 20) / c
		x := nnBenchParam(rng, rows, c)
		b.Run(fmt.Sprintf("fwd/%dx%d", rows, c), func(b *testing.B) {
			tp := NewNoGradTape()
			b.SetBytes(int64(2 * 4 * x.Len())) // read x, write y
			for b.Loop() {
				tp.Softmax(x)
				tp.Reset()
			}
		})
		b.Run(fmt.Sprintf("fwdbwd/%dx%d", rows, c), func(b *testing.B) {
			tp := NewTape()
			b.SetBytes(int64(5 * 4 * x.Len())) // fwd: x, y; bwd: y, dy, dx
			for b.Loop() {
				nnBenchBackward(tp, tp.Softmax(x))
				tp.Reset()
			}
		})
	}
}

func BenchmarkRMSNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sz := range [][2]int{{4096, 256}, {1024, 1024}, {256, 4096}, {4096, 1024}} {
		n, d := sz[0], sz[1]
		x, w := nnBenchParam(rng, n, d), nnBenchParam(rng, d)
		b.Run(fmt.Sprintf("fwdbwd/%dx%d", n, d), func(b *testing.B) {
			tp := NewTape()
			b.SetBytes(int64(5 * 4 * x.Len())) // fwd: x, y; bwd: x, dy, dx (dw is small)
			for b.Loop() {
				nnBenchBackward(tp, tp.RMSNorm(x, w, 1e-5))
				tp.Reset()
			}
		})
	}
}

func BenchmarkCrossEntropy(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, v := range []int{256, 4096, 32768} {
		n := max(64, (1<<21)/v)
		x := nnBenchParam(rng, n, v)
		targets := make([]int32, n)
		for i := range targets {
			targets[i] = int32(rng.IntN(v))
		}
		b.Run(fmt.Sprintf("fwd/N=%d/V=%d", n, v), func(b *testing.B) {
			tp := NewNoGradTape()
			b.SetBytes(int64(4 * x.Len())) // read logits
			for b.Loop() {
				tp.CrossEntropy(x, targets, -100)
				tp.Reset()
			}
		})
		b.Run(fmt.Sprintf("fwdbwd/N=%d/V=%d", n, v), func(b *testing.B) {
			tp := NewTape()
			b.SetBytes(int64(3 * 4 * x.Len())) // fwd: logits; bwd: logits, dlogits
			for b.Loop() {
				nnBenchBackward(tp, tp.CrossEntropy(x, targets, -100))
				tp.Reset()
			}
		})
	}
}

func BenchmarkGatherScatterRows(b *testing.B) {
	const d, n = 256, 4096
	rng := rand.New(rand.NewPCG(4, 4))
	x := nnBenchParam(rng, n, d)
	for _, m := range []int{512, 4096, 16384} {
		idx := make([]int32, m)
		for i := range idx {
			idx[i] = int32(rng.IntN(n))
		}
		src := nnBenchParam(rng, m, d)
		bytes := int64(2 * 4 * m * d) // each of M rows read once and written once
		b.Run(fmt.Sprintf("GatherRows/M=%d/D=%d", m, d), func(b *testing.B) {
			tp := NewNoGradTape()
			b.SetBytes(bytes)
			for b.Loop() {
				tp.GatherRows(x, idx)
				tp.Reset()
			}
		})
		b.Run(fmt.Sprintf("GatherRows-bwd/M=%d/D=%d", m, d), func(b *testing.B) {
			tp := NewTape()
			b.SetBytes(2 * bytes)
			for b.Loop() {
				nnBenchBackward(tp, tp.GatherRows(x, idx))
				tp.Reset()
			}
		})
		b.Run(fmt.Sprintf("ScatterAddRows/M=%d/D=%d", m, d), func(b *testing.B) {
			tp := NewNoGradTape()
			b.SetBytes(bytes)
			for b.Loop() {
				tp.ScatterAddRows(src, idx, n)
				tp.Reset()
			}
		})
	}
}

func BenchmarkRoPE(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := nnBenchParam(rng, 4, 256, 8, 64)
	b.Run("fwdbwd/4x256x8x64", func(b *testing.B) {
		tp := NewTape()
		b.SetBytes(int64(4 * 4 * x.Len())) // fwd: x, y; bwd: dy, dx
		for b.Loop() {
			nnBenchBackward(tp, tp.RoPE(x, 10000, 0))
			tp.Reset()
		}
	})
}

func BenchmarkTopK(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, sz := range [][3]int{{4096, 8, 2}, {4096, 64, 8}, {64, 32000, 50}} {
		r, c, k := sz[0], sz[1], sz[2]
		x := nnBenchParam(rng, r, c)
		b.Run(fmt.Sprintf("%dx%d/k=%d", r, c, k), func(b *testing.B) {
			tp := NewNoGradTape()
			b.SetBytes(int64(4 * x.Len()))
			for b.Loop() {
				tp.TopK(x, k)
				tp.Reset()
			}
		})
	}
}
