package corpus

import (
	"math"
	"testing"
)

// ngramCrossEntropy trains an interpolated character n-gram model (orders 0..n)
// on train and returns its cross-entropy on test, in nats per byte. Each order's
// estimate is mixed with the lower-order one by Witten-Bell weights.
func ngramCrossEntropy(train, test string, n int) float64 {
	type stats struct {
		counts map[byte]int
		total  int
	}
	tables := make([]map[string]*stats, n+1)
	for k := range tables {
		tables[k] = map[string]*stats{}
	}
	for i := range len(train) {
		for k := 0; k <= n && k <= i; k++ {
			ctx := train[i-k : i]
			s := tables[k][ctx]
			if s == nil {
				s = &stats{counts: map[byte]int{}}
				tables[k][ctx] = s
			}
			s.counts[train[i]]++
			s.total++
		}
	}
	nll := 0.0
	for i := range len(test) {
		p := 1.0 / 256
		for k := 0; k <= n && k <= i; k++ {
			s := tables[k][test[i-k:i]]
			if s == nil {
				break
			}
			distinct := float64(len(s.counts))
			lambda := float64(s.total) / (float64(s.total) + distinct)
			p = lambda*float64(s.counts[test[i]])/float64(s.total) + (1-lambda)*p
		}
		nll -= math.Log(p)
	}
	return nll / float64(len(test))
}

func unigramEntropy(s string) float64 {
	var counts [256]int
	for i := range len(s) {
		counts[s[i]]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(s))
			h -= p * math.Log(p)
		}
	}
	return h
}

// TestDefaultHasLearnableStructure checks that context predicts the next byte far
// better than byte frequencies alone: a 4-gram model's held-out loss must be well
// under the unigram entropy, so a small transformer has much to learn.
func TestDefaultHasLearnableStructure(t *testing.T) {
	text := Default()
	split := len(text) * 9 / 10
	h0 := unigramEntropy(text)
	h4 := ngramCrossEntropy(text[:split], text[split:], 4)
	t.Logf("unigram entropy %.3f nats/byte, held-out 4-gram cross-entropy %.3f nats/byte", h0, h4)
	if h4 > 0.5*h0 {
		t.Errorf("4-gram loss %.3f is not below half the unigram entropy %.3f", h4, h0)
	}
}
