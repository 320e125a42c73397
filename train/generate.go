package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// SampleOptions control generation.
type SampleOptions struct {
	MaxNewTokens int
	Temperature  float64 // 0 means greedy
	TopK         int     // 0 means the whole vocabulary
	Seed         uint64
	// Stop, when it returns true for the tokens so far, ends generation early.
	Stop func(tokens []int32) bool
}

// Generate continues prompt with up to MaxNewTokens sampled tokens, using a
// KV cache so each new token costs one position's forward pass. The context
// is capped at the model's max_seq_len.
func Generate(m *layers.Model, prompt []int32, o SampleOptions) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	maxLen := m.Cfg.MaxSeqLen
	if len(prompt) > maxLen {
		prompt = prompt[len(prompt)-maxLen:]
	}
	if room := maxLen - len(prompt); o.MaxNewTokens > room {
		o.MaxNewTokens = room
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x67656e))
	caches := m.NewCaches()
	tp := autograd.NewNoGradTape()
	var out []int32
	next := prompt
	probs := make([]float64, m.Cfg.Vocab)
	for len(out) < o.MaxNewTokens {
		lg := m.Forward(tp, next, 1, len(next), layers.ForwardOptions{Cache: caches}).Logits // [T, V]
		v := m.Cfg.Vocab
		last := lg.Len()/v - 1
		for i := range probs {
			probs[i] = lg.At(last*v + i)
		}
		tp.Reset()
		tok := sampleToken(probs, o.Temperature, o.TopK, rng)
		out = append(out, tok)
		if o.Stop != nil && o.Stop(out) {
			break
		}
		next = []int32{tok}
	}
	return out, nil
}

// sampleToken draws from softmax(logits/temperature) restricted to the topK
// largest logits; temperature 0 takes the argmax. logits is overwritten.
func sampleToken(logits []float64, temperature float64, topK int, rng *rand.Rand) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if temperature <= 0 {
		return int32(best)
	}
	if topK > 0 && topK < len(logits) {
		sorted := append([]float64(nil), logits...)
		sort.Sort(sort.Reverse(sort.Float64Slice(sorted)))
		cut := sorted[topK-1]
		for i, v := range logits {
			if v < cut {
				logits[i] = math.Inf(-1)
			}
		}
	}
	maxv := logits[best]
	var sum float64
	for i, v := range logits {
		logits[i] = math.Exp((v - maxv) / temperature)
		sum += logits[i]
	}
	r := rng.Float64() * sum
	for i, p := range logits {
		r -= p
		if r <= 0 {
			return int32(i)
		}
	}
	return int32(best)
}
