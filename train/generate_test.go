package train

// Tests of sampling and of Generate's context window. Each mutation below was
// made once on purpose; the tests named after it failed:
//
//   - sampleToken always returns the argmax: TestSampleTopKStaysInTopK (the
//     k best not all drawn), TestSampleMatchesSoftmax (χ²), TestGenerateSeeds
//     (two seeds give the same text).
//   - sampleToken ignores TopK: TestSampleGreedy (top-k 1 is not greedy),
//     TestSampleTopKStaysInTopK (a token outside the k best is drawn),
//     TestSampleMatchesSoftmax (the top-k cases).
//   - the top-k cut one place too low (sorted[topK] for sorted[topK-1]): the
//     same three tests (the (k+1)-th token is drawn).
//   - the temperature ignored (exp(v-max) for exp((v-max)/T)):
//     TestSampleMatchesSoftmax (χ² far above its bound at T = 0.6 and 1.8).
//   - temperature 0 sampled at temperature 1 instead of taking the argmax:
//     TestSampleGreedy, TestGenerateSlidesWindow.
//   - the seed ignored (a fixed PCG seed), or drawn at random:
//     TestGenerateSeeds.
//   - the old cap of new tokens at max_seq_len - len(prompt):
//     TestGenerateSlidesWindow (a prompt that fills the window yields none).
//   - the cache kept instead of refilled when the window slides:
//     TestGenerateSlidesWindow (greedy tokens differ from the uncached
//     reference).
//   - Generate not validating its options: TestGenerateStopsAndValidates.

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// testLogits has distinct values, so the k best are well defined; the
// argmax is token 0.
var testLogits = []float64{2.0, 1.0, 0.5, 0.0, -0.5, -1.0, 1.5, 0.2}

// draw calls sampleToken n times on copies of logits and counts the tokens.
func draw(logits []float64, temperature float64, topK, n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 1))
	counts := make([]int, len(logits))
	buf := make([]float64, len(logits))
	for range n {
		copy(buf, logits)
		counts[sampleToken(buf, temperature, topK, rng)]++
	}
	return counts
}

// topKOf returns the indices of the k largest logits.
func topKOf(logits []float64, k int) map[int]bool {
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	out := map[int]bool{}
	for _, i := range idx[:k] {
		out[i] = true
	}
	return out
}

// softmaxOver is softmax(logits/temperature) restricted to keep.
func softmaxOver(logits []float64, temperature float64, keep map[int]bool) []float64 {
	p := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		if keep[i] {
			p[i] = math.Exp(v / temperature)
			sum += p[i]
		}
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

func TestSampleGreedy(t *testing.T) {
	for _, topK := range []int{0, 1, 3, len(testLogits)} {
		counts := draw(testLogits, 0, topK, 200, 7)
		if counts[0] != 200 {
			t.Errorf("temperature 0, top-k %d: counts %v, want every draw on token 0", topK, counts)
		}
	}
	for _, temp := range []float64{0.5, 1, 5} {
		counts := draw(testLogits, temp, 1, 500, 8)
		if counts[0] != 500 {
			t.Errorf("top-k 1 at temperature %v: counts %v, want every draw on token 0", temp, counts)
		}
	}
}

func TestSampleTopKStaysInTopK(t *testing.T) {
	for _, k := range []int{2, 3, 5} {
		best := topKOf(testLogits, k)
		counts := draw(testLogits, 3, k, 5000, uint64(k))
		for i, c := range counts {
			if best[i] && c == 0 {
				t.Errorf("top-k %d: token %d among the %d best never drawn in 5000: %v", k, i, k, counts)
			}
			if !best[i] && c > 0 {
				t.Errorf("top-k %d: token %d outside the %d best drawn %d times: %v", k, i, k, c, counts)
			}
		}
	}
}

// TestSampleMatchesSoftmax: the draws' frequencies match softmax(logits/T)
// (over the top k) by Pearson's χ² test. The draws are seeded, so the
// statistic is one fixed number; the bounds are the 0.1% critical values,
// which a correct sampler passes and a wrong temperature, an ignored top-k or
// a greedy sampler exceed by orders of magnitude.
func TestSampleMatchesSoftmax(t *testing.T) {
	critical := map[int]float64{3: 16.27, 4: 18.47, 7: 24.32} // χ² 0.999 quantiles by degrees of freedom
	cases := []struct {
		temperature float64
		topK        int
	}{{0.6, 0}, {1.8, 0}, {1, 5}, {1.8, 4}}
	const n = 20000
	for _, c := range cases {
		k := c.topK
		if k == 0 {
			k = len(testLogits)
		}
		p := softmaxOver(testLogits, c.temperature, topKOf(testLogits, k))
		counts := draw(testLogits, c.temperature, c.topK, n, 42)
		var chi2 float64
		for i, want := range p {
			if want == 0 {
				if counts[i] != 0 {
					t.Errorf("T %v top-k %d: token %d has probability 0 but was drawn %d times", c.temperature, c.topK, i, counts[i])
				}
				continue
			}
			d := float64(counts[i]) - n*want
			chi2 += d * d / (n * want)
		}
		if bound := critical[k-1]; chi2 > bound {
			t.Errorf("T %v top-k %d: χ² %.1f over %d degrees of freedom exceeds %.2f; counts %v, expected %v",
				c.temperature, c.topK, chi2, k-1, bound, counts, p)
		}
	}
}

// generateModel is testConfig's model with weights large enough that its
// logits have clear winners (greedy decoding is then decided far above
// float32 rounding).
func generateModel(t *testing.T) *layers.Model {
	t.Helper()
	m, err := NewModel(testConfig(t, "model.init_std=0.3"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGenerateSeeds(t *testing.T) {
	m := generateModel(t)
	prompt := []int32{'T', 'h', 'e', ' '}
	gen := func(seed uint64) []int32 {
		out, err := Generate(m, prompt, SampleOptions{MaxNewTokens: 24, Temperature: 1.5, TopK: 0, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 24 {
			t.Fatalf("seed %d: %d tokens, want 24", seed, len(out))
		}
		return out
	}
	a, b, c := gen(5), gen(5), gen(6)
	if !slices.Equal(a, b) {
		t.Errorf("seed 5 twice: %v and %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 5 and 6 gave the same %d tokens %v", len(a), a)
	}
}

// greedyReference decodes n tokens greedily without a KV cache: each token is
// the argmax of a fresh forward pass over the last maxLen tokens.
func greedyReference(m *layers.Model, prompt []int32, n int) []int32 {
	tp := autograd.NewNoGradTape()
	ctx := append([]int32(nil), prompt...)
	v := m.Cfg.Vocab
	for range n {
		window := ctx[max(0, len(ctx)-m.Cfg.MaxSeqLen):]
		lg := m.Forward(tp, window, 1, len(window), layers.ForwardOptions{}).Logits // [T, V]
		row := (len(window) - 1) * v
		best := 0
		for i := 1; i < v; i++ {
			if lg.At(row+i) > lg.At(row+best) {
				best = i
			}
		}
		tp.Reset()
		ctx = append(ctx, int32(best))
	}
	return ctx[len(prompt):]
}

// TestGenerateSlidesWindow: prompts shorter than, equal to and longer than
// max_seq_len all yield the tokens asked for, and greedy decoding through the
// cache and its refills agrees with uncached decoding over the last
// max_seq_len tokens.
func TestGenerateSlidesWindow(t *testing.T) {
	m := generateModel(t)
	maxLen := m.Cfg.MaxSeqLen
	rng := rand.New(rand.NewPCG(3, 4))
	long := make([]int32, maxLen+9)
	for i := range long {
		long[i] = int32('a' + rng.IntN(26))
	}
	for _, plen := range []int{5, maxLen - 1, maxLen, maxLen + 9} {
		prompt := long[:plen]
		n := 12
		got, err := Generate(m, prompt, SampleOptions{MaxNewTokens: n})
		if err != nil {
			t.Fatal(err)
		}
		want := greedyReference(m, prompt, n)
		if len(got) != n || !slices.Equal(got, want) {
			t.Errorf("prompt of %d tokens (max_seq_len %d): greedy %v, uncached reference %v", plen, maxLen, got, want)
		}
	}
}

func TestGenerateStopsAndValidates(t *testing.T) {
	m := generateModel(t)
	out, err := Generate(m, []int32{'a'}, SampleOptions{MaxNewTokens: 10, Stop: func(ts []int32) bool { return len(ts) == 3 }})
	if err != nil || len(out) != 3 {
		t.Fatalf("Stop after 3: %v, %v", out, err)
	}
	if out, err := Generate(m, []int32{'a'}, SampleOptions{}); err != nil || len(out) != 0 {
		t.Fatalf("0 new tokens: %v, %v", out, err)
	}
	bad := []struct {
		o    SampleOptions
		want string
	}{
		{SampleOptions{MaxNewTokens: -1}, "max new tokens -1"},
		{SampleOptions{Temperature: -0.5}, "temperature -0.5"},
		{SampleOptions{Temperature: math.NaN()}, "temperature NaN"},
		{SampleOptions{Temperature: math.Inf(1)}, "temperature +Inf"},
		{SampleOptions{TopK: -2}, "top-k -2"},
	}
	for _, b := range bad {
		if _, err := Generate(m, []int32{'a'}, b.o); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want one naming %q", b.o, err, b.want)
		}
	}
	if _, err := Generate(m, nil, SampleOptions{MaxNewTokens: 1}); err == nil || !strings.Contains(err.Error(), "empty prompt") {
		t.Errorf("empty prompt: %v", err)
	}
}
