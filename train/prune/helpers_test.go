package prune

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
)

// smallConfig is a two-layer MoE model of 4 experts, top-2, with weights
// large enough (init_std 0.3) that routing and logits depend clearly on the
// input; mut changes it before validation.
func smallConfig(t *testing.T, mut func(c *configs.Config)) *configs.Config {
	t.Helper()
	c := configs.Default()
	c.Model.DModel, c.Model.NLayers, c.Model.NHeads, c.Model.NKVHeads = 16, 2, 2, 1
	c.Model.FFNHiddenSize, c.Model.MaxSeqLen, c.Model.InitStd = 24, 16, 0.3
	c.MoE.NumExperts, c.MoE.TopK, c.MoE.ExpertFFNHiddenSize = configs.Experts(4), 2, 8
	c.Train.SeqLen, c.Train.MicroBatchSize = 16, 2
	if mut != nil {
		mut(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// model64 builds c's model in float64, seeded.
func model64(t *testing.T, c *configs.Config, seed uint64) *layers.Model {
	t.Helper()
	m, err := layers.New(train.ModelConfig(c), autograd.Float64, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomTokens returns n token ids below vocab.
func randomTokens(n, vocab int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(rng.IntN(vocab))
	}
	return out
}

// logits returns the model's logits [B*T, V] of tokens as float64.
func logits(m *layers.Model, tokens []int32, b, t int) []float64 {
	tp := autograd.NewNoGradTape()
	out := m.Forward(tp, tokens, b, t, layers.ForwardOptions{}).Logits
	v := make([]float64, out.Len())
	for i := range v {
		v[i] = out.At(i)
	}
	return v
}

// maxDiff returns max |a_i - b_i|.
func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}
