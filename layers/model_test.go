package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

func tinyConfig() Config {
	return Config{
		Vocab: 11, DModel: 8, Layers: 2, Heads: 4, KVHeads: 2, FFNHidden: 12, MaxSeqLen: 16,
		RopeTheta: 10000, NormEps: 1e-5, InitStd: 0.3,
		MoELayers: []bool{false, true}, Experts: []int{0, 3}, ExpertFFN: 6, SharedExperts: 1,
		Router: router.Config{TopK: 2, Type: "topk_softmax", Normalize: true},
	}
}

// TestModelGradients checks every parameter's gradient of the full training
// loss (CE + load balancing + z-loss) on a tiny hybrid model.
func TestModelGradients(t *testing.T) {
	for _, tied := range []bool{false, true} {
		cfg := tinyConfig()
		cfg.TieEmbeddings = tied
		m, err := New(cfg, autograd.Float64, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, tl := 2, 5
		rng := rand.New(rand.NewPCG(1, 1))
		tokens, targets := make([]int32, b*tl), make([]int32, b*tl)
		for i := range tokens {
			tokens[i], targets[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
		}
		targets[3] = -100
		f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor {
			out := m.Forward(tp, tokens, b, tl, ForwardOptions{})
			return m.Loss(tp, out, targets, LossConfig{AuxCoeff: 0.1, ZCoeff: 0.01, IgnoreIdx: -100}).Total
		}
		rel, err := autograd.GradCheck(f, m.Params(), 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		if rel > 1e-6 {
			t.Errorf("tied=%v: relative gradient error %g", tied, rel)
		}
	}
}

// TestGenerationCacheMatchesFullForward: decoding token by token with the KV
// cache gives the same logits as one forward over the whole sequence.
func TestGenerationCacheMatchesFullForward(t *testing.T) {
	m, err := New(tinyConfig(), autograd.Float64, 2)
	if err != nil {
		t.Fatal(err)
	}
	tokens := []int32{1, 5, 2, 9, 3, 3, 7}
	tp := autograd.NewNoGradTape()
	full := m.Forward(tp, tokens, 1, len(tokens), ForwardOptions{}).Logits // [T, V]
	caches := m.NewCaches()
	step := autograd.NewNoGradTape()
	// A prompt of 3 tokens, then one token at a time.
	check := func(from, to int) {
		lg := m.Forward(step, tokens[from:to], 1, to-from, ForwardOptions{Cache: caches}).Logits
		v := m.Cfg.Vocab
		for i := 0; i < (to-from)*v; i++ {
			if d := lg.At(i) - full.At(from*v+i); d > 1e-10 || d < -1e-10 {
				t.Fatalf("positions %d..%d element %d: cached %v, full %v", from, to, i, lg.At(i), full.At(from*v+i))
			}
		}
		step.Reset()
	}
	check(0, 3)
	for p := 3; p < len(tokens); p++ {
		check(p, p+1)
	}
}
