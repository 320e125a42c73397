package layers

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// tinyPresetConfig is the tiny preset's model: V=256, D=128, 4 MoE layers
// of E=8 SwiGLU experts of width F=256, top-2, 4 heads over 2 KV heads.
func tinyPresetConfig() Config {
	return Config{
		Vocab: 256, DModel: 128, Layers: 4, Heads: 4, KVHeads: 2, FFNHidden: 256, MaxSeqLen: 128,
		RopeTheta: 10000, NormEps: 1e-5, InitStd: 0.02,
		MoELayers: []bool{true, true, true, true}, Experts: []int{8, 8, 8, 8}, ExpertFFN: 256,
		Router: router.Config{TopK: 2, Type: router.TopKSoftmax, Normalize: true},
	}
}

// BenchmarkLoRAFinetuneStep times forward + backward of the full training
// loss of a tiny-preset model on one micro-batch of 8x128 tokens, as a
// fine-tuning step runs it: every weight trainable ("full"), rank-8 adapters
// on every expert's w1, w2 and w3 with the base frozen ("lora_experts"), and
// rank-8 adapters on q_proj ("lora_q"). With the base frozen, no weight
// gradient of a frozen stack is computed or held, so both LoRA runs should
// cost less time and memory per step than full.
func BenchmarkLoRAFinetuneStep(b *testing.B) {
	const bsz, tl = 8, 128
	cases := []struct {
		name    string
		targets []string // nil: full fine-tuning
	}{
		{"full", nil},
		{"lora_experts", []string{TargetW1, TargetW2, TargetW3}},
		{"lora_q", []string{TargetQ}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg := tinyPresetConfig()
			m, err := New(cfg, autograd.Float32, 1)
			if err != nil {
				b.Fatal(err)
			}
			if c.targets != nil {
				if _, err := m.AttachLoRA(LoRAConfig{Rank: 8, Alpha: 16, Targets: c.targets}, 2); err != nil {
					b.Fatal(err)
				}
				fillB(m, 0.02) // a trained adapter's B, not the zero it starts at
			}
			rng := rand.New(rand.NewPCG(7, 8))
			tokens, targets := make([]int32, bsz*tl), make([]int32, bsz*tl)
			for i := range tokens {
				tokens[i], targets[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
			}
			benchStep(b, bsz*tl, m.Trainable(), func(tp *autograd.Tape) *autograd.Tensor {
				out := m.Forward(tp, tokens, bsz, tl, ForwardOptions{Training: true, RNG: rng})
				return m.Loss(tp, out, targets, LossConfig{AuxCoeff: 0.01, ZCoeff: 0.001, IgnoreIdx: -100}).Total
			})
		})
	}
}

// BenchmarkLoRAExperts times forward + backward of one tiny-preset expert
// stack (E=8, D=128, F=256) on 2048 permuted rows (1024 tokens, top-2),
// split unevenly over the experts as routing does: trainable weights
// ("full"), frozen weights alone ("frozen"), and frozen weights with rank-8
// adapters on w1, w2 and w3 ("lora"). lora should cost frozen's time plus
// the adapters' small share, less than full.
func BenchmarkLoRAExperts(b *testing.B) {
	const e, d, f, m, rank = 8, 128, 256, 2048, 8
	offsets := []int{0}
	for _, share := range []int{310, 180, 260, 240, 330, 150, 290, 288} {
		offsets = append(offsets, offsets[len(offsets)-1]+share)
	}
	if offsets[e] != m {
		b.Fatalf("offsets %v do not cover %d rows", offsets, m)
	}
	for _, c := range []string{"full", "frozen", "lora"} {
		b.Run(c, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := NewExperts(autograd.Float32, "experts", e, d, f, 0.02, 0.01, rng)
			params := x.Params()
			if c != "full" {
				for _, p := range params {
					p.SetRequiresGrad(false)
				}
				params = nil
			}
			if c == "lora" {
				cfg := LoRAConfig{Rank: rank, Alpha: 16, Init: LoRAInitKaiming}
				x.LoRA1, x.LoRA3, x.LoRA2 = newLoRA(x.W1, "w1", cfg, rng), newLoRA(x.W3, "w3", cfg, rng), newLoRA(x.W2, "w2", cfg, rng)
				for _, l := range []*LoRA{x.LoRA1, x.LoRA3, x.LoRA2} {
					for i := range l.B.Len() {
						l.B.Set(i, rng.NormFloat64()*0.02)
					}
					params = append(params, l.Params()...)
				}
			}
			in := benchInput(m, d)
			benchStep(b, m, append(params, in), func(tp *autograd.Tape) *autograd.Tensor {
				return tp.Sum(x.Forward(tp, in, offsets, false, nil))
			})
		})
	}
}

// benchStep times forward + backward of loss (a one-element tensor) on a
// tape of its own, clearing trainable's gradients after each step, and
// reports tokens/s and held-MB: the heap the steps leave held, which is
// the tape's pooled intermediates at their peak (every buffer a step takes
// returns to the pool on Reset) plus the gradient buffers of trainable.
func benchStep(b *testing.B, tokens int, trainable []*autograd.Tensor, loss func(tp *autograd.Tape) *autograd.Tensor) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tp := autograd.NewTape()
	step := func() {
		if err := tp.Backward(loss(tp)); err != nil {
			b.Fatal(err)
		}
		tp.Reset()
		for _, p := range trainable {
			p.ZeroGrad()
		}
	}
	step() // warm the pool
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.StopTimer()
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tp)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "held-MB")
}
