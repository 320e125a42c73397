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
// is capped at the model's max_seq_len L: a longer prompt is cut to its last
// L tokens, and once the context is full the window slides, each further
// token being predicted from the last L tokens (a fresh cache filled with
// them, so it costs an L-position forward pass).
func Generate(m *layers.Model, prompt []int32, o SampleOptions) ([]int32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	if err := CheckTokenIDs(prompt, m.Cfg.Vocab); err != nil {
		return nil, fmt.Errorf("generate: prompt %w", err)
	}
	maxLen := m.Cfg.MaxSeqLen
	rng := rand.New(rand.NewPCG(o.Seed, 0x67656e))
	tp := autograd.NewNoGradTape()
	var caches []*layers.KVCache
	ctx := append([]int32(nil), prompt...) // prompt and the tokens generated so far
	out := ctx[len(ctx):]
	next := ctx                           // tokens not yet in the cache
	probs := make([]float64, m.Cfg.Vocab) // [V]
	for len(out) < o.MaxNewTokens {
		if caches == nil || caches[0].Len()+len(next) > maxLen {
			caches, next = m.NewCaches(), ctx[max(0, len(ctx)-maxLen):]
		}
		lg := m.Forward(tp, next, 1, len(next), layers.ForwardOptions{Cache: caches}).Logits // [T, V]
		v := m.Cfg.Vocab
		last := lg.Len()/v - 1
		for i := range probs {
			probs[i] = lg.At(last*v + i)
		}
		tp.Reset()
		if i, bad := firstNonFinite(probs); bad {
			return nil, &NonFiniteLogitsError{Position: len(ctx) - 1, Token: i, Value: probs[i]}
		}
		tok := sampleToken(probs, o.Temperature, o.TopK, rng)
		ctx = append(ctx, tok)
		out = ctx[len(prompt):]
		if o.Stop != nil && o.Stop(out) {
			break
		}
		next = ctx[len(ctx)-1:]
	}
	return append([]int32(nil), out...), nil
}

// NonFiniteLogitsError reports logits that are NaN or infinite: the model's
// weights overflow or hold non-finite values, so nothing it predicts means
// anything.
type NonFiniteLogitsError struct {
	Position int     // context position whose next token was being predicted
	Token    int     // first vocabulary id with a non-finite logit
	Value    float64 // that logit
}

func (e *NonFiniteLogitsError) Error() string {
	return fmt.Sprintf("generate: the logit of token id %d after position %d is %v: the model's weights give non-finite outputs", e.Token, e.Position, e.Value)
}

// CheckTokenIDs reports the first of ids outside [0, vocab): a tokenizer
// other than the model's (its file changed since training) gives ids the
// embedding table does not have.
func CheckTokenIDs(ids []int32, vocab int) error {
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("token %d is id %d, outside the model's vocabulary of %d ids (0..%d); the tokenizer is not the one the model was trained with", i, id, vocab, vocab-1)
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or infinite value of xs.
func firstNonFinite(xs []float64) (int, bool) {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i, true
		}
	}
	return 0, false
}

// SampleOptionNames names SampleOptions' fields in Validate's errors: a
// command line passes its flags' names.
type SampleOptionNames struct{ MaxNewTokens, Temperature, TopK string }

// Validate reports options Generate cannot honour: a negative token count,
// temperature or top-k, or a temperature that is not a finite number.
func (o SampleOptions) Validate() error {
	return o.ValidateAs(SampleOptionNames{MaxNewTokens: "max new tokens", Temperature: "temperature", TopK: "top-k"})
}

// ValidateAs is Validate with the fields called by names.
func (o SampleOptions) ValidateAs(names SampleOptionNames) error {
	switch {
	case o.MaxNewTokens < 0:
		return fmt.Errorf("generate: %s %d: want 0 or more tokens", names.MaxNewTokens, o.MaxNewTokens)
	case o.Temperature < 0 || math.IsNaN(o.Temperature) || math.IsInf(o.Temperature, 0):
		return fmt.Errorf("generate: %s %v: want 0 (greedy) or a positive number", names.Temperature, o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("generate: %s %d: want 0 (the whole vocabulary) or a positive count", names.TopK, o.TopK)
	}
	return nil
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
