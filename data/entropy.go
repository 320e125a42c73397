package data

import "math"

// UnigramEntropy returns the entropy, in nats per token, of the token frequencies
// in tokens: -sum p log p. It is the loss of a model that predicts every token
// from its frequency alone, so a model that learns context must beat it; divide by
// ln 2 for bits. It returns 0 for no tokens.
func UnigramEntropy(tokens []int32) float64 {
	if len(tokens) == 0 {
		return 0
	}
	lo, hi := tokens[0], tokens[0]
	for _, t := range tokens {
		lo, hi = min(lo, t), max(hi, t)
	}
	var counts []int
	if int64(hi)-int64(lo) < 1<<24 {
		counts = make([]int, int(hi-lo)+1)
		for _, t := range tokens {
			counts[t-lo]++
		}
	} else {
		byID := map[int32]int{}
		for _, t := range tokens {
			byID[t]++
		}
		for _, c := range byID {
			counts = append(counts, c)
		}
	}
	n := float64(len(tokens))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log(p)
		}
	}
	return h
}
