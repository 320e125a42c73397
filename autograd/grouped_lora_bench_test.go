package autograd

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkGroupedLoRA times forward + backward of one adapted expert
// projection at the tiny preset's w1 shape (E=8, In=128, Out=256, rank 8,
// 2048 rows split unevenly) with the base weight frozen: the fused op
// against the composition it replaces (three GroupedMatMuls, a Scale and an
// Add), whose rank-8 products fill a quarter of each 32-column GEMM tile,
// and the frozen base's product alone (what the adapter adds to).
func BenchmarkGroupedLoRA(b *testing.B) {
	const e, din, dout, r = 8, 128, 256, 8
	offsets := []int{0, 310, 490, 750, 990, 1320, 1470, 1760, 2048}
	m := offsets[e]
	rng := rand.New(rand.NewPCG(1, 2))
	f32 := func(grad bool, shape ...int) *Tensor {
		t := ToFloat32(RandN(rng, 0.1, shape...))
		t.SetRequiresGrad(grad)
		return t
	}
	x, w, a, bb := f32(true, m, din), f32(false, e, dout, din), f32(true, e, r, din), f32(true, e, dout, r)
	for _, c := range []struct {
		name string
		f    func(tp *Tape) *Tensor
	}{
		{"fused", func(tp *Tape) *Tensor { return tp.GroupedLoRA(x, w, x, a, bb, offsets, 2) }},
		{"composed", func(tp *Tape) *Tensor { return loraComposed(tp, x, w, x, a, bb, offsets, 2) }},
		{"base_only", func(tp *Tape) *Tensor { return tp.GroupedMatMul(x, w, offsets) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			tp := NewTape()
			step := func() {
				if err := tp.Backward(tp.Sum(c.f(tp))); err != nil {
					b.Fatal(err)
				}
				tp.Reset()
				for _, p := range []*Tensor{x, a, bb} {
					p.ZeroGrad()
				}
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step()
			}
		})
	}
}
