package layers

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// benchFwdBwd times forward + backward of f on x [N, D], reporting tokens/s.
func benchFwdBwd(b *testing.B, n int, params []*autograd.Tensor, f func(tp *autograd.Tape) *autograd.Tensor) {
	tp := autograd.NewTape()
	run := func() {
		y := f(tp)
		if err := tp.Backward(tp.Sum(y)); err != nil {
			b.Fatal(err)
		}
		tp.Reset()
		for _, p := range params {
			p.ZeroGrad()
		}
	}
	run() // warm the pool
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func benchInput(n, d int) *autograd.Tensor {
	x := autograd.ToFloat32(autograd.RandN(rand.New(rand.NewPCG(1, 2)), 1, n, d))
	x.SetRequiresGrad(true)
	return x
}

// BenchmarkMoELayer: forward+backward of one MoE layer at D=256, N=2048, K=2,
// F=512 for E in {8, 64}: cost must follow K, not E.
func BenchmarkMoELayer(b *testing.B) {
	const n, d, f, k = 2048, 256, 512, 2
	for _, e := range []int{8, 64} {
		b.Run(fmt.Sprintf("E%d_K%d", e, k), func(b *testing.B) {
			rc := router.Config{NumExperts: e, TopK: k, Type: router.TopKSoftmax, Normalize: true}
			m, err := NewMoE(autograd.Float32, "moe", MoEConfig{Router: rc, DModel: d, ExpertFFN: f}, 0.02, 0.02, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				b.Fatal(err)
			}
			x := benchInput(n, d)
			benchFwdBwd(b, n, append(m.Params(), x), func(tp *autograd.Tape) *autograd.Tensor {
				y, _ := m.Forward(tp, x, true, nil)
				return y
			})
		})
	}
}

// BenchmarkDenseBlock: forward+backward of one dense transformer block
// (attention + SwiGLU MLP) at D=256, 8 sequences of 256 tokens.
func BenchmarkDenseBlock(b *testing.B) {
	const bsz, t, d, f = 8, 256, 256, 1024
	rng := rand.New(rand.NewPCG(5, 6))
	blk := &Block{
		AttnNorm: NewRMSNorm(autograd.Float32, "an", d, 1e-5),
		Attn:     NewAttention(autograd.Float32, "attn", d, 8, 4, 10000, 0.02, 0.02, rng),
		FFNNorm:  NewRMSNorm(autograd.Float32, "fn", d, 1e-5),
		MLP:      NewMLP(autograd.Float32, "mlp", d, f, 0.02, 0.02, rng),
	}
	x := benchInput(bsz*t, d)
	benchFwdBwd(b, bsz*t, append(blk.Params(), x), func(tp *autograd.Tape) *autograd.Tensor {
		y, _ := blk.Forward(tp, x, bsz, t, nil, true, nil)
		return y
	})
}
