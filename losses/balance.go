package losses

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
)

// Default loss coefficients.
const (
	DefaultAuxCoeff = 1e-2 // load-balancing loss (Switch Transformer, Mixtral)
	DefaultZCoeff   = 1e-3 // router z-loss (ST-MoE)
)

// LoadBalancing returns the Switch Transformer auxiliary loss
//
//	coeff * E * sum_i f_i * P_i
//
// as a [1] tensor, where f_i = counts[i] / sum(counts) is the share of the
// batch's expert choices (dropped ones included) that went to expert i, held
// constant, and P_i is the mean over tokens of probs[:, i] with probs
// [N, E]. counts [E] is what router.Routing.ChoiceCounts(N) returns. The loss
// is coeff for a perfectly balanced router and coeff * E when every token
// goes to one expert with certainty. Gradients flow into probs. It panics if
// probs is not [N, E] with N >= 1, counts has not E entries or one is
// negative.
func LoadBalancing(tp *autograd.Tape, probs *autograd.Tensor, counts []int, coeff float64) *autograd.Tensor {
	n, _ := checkProbs("LoadBalancing", probs)
	return SeqLoadBalancing(tp, probs, counts, n, coeff) // one sequence of N tokens
}

// SeqLoadBalancing is LoadBalancing computed per sequence of seqLen tokens
// (the rows of probs [N, E] taken seqLen at a time) and averaged over the
// S = N/seqLen sequences (DeepSeek-V2/V3's sequence-wise balance loss):
//
//	coeff * E / S * sum_s sum_i f_{s,i} * P_{s,i}
//
// with f_{s,i} = counts[s, i] / sum_i counts[s, i], the share of sequence
// s's expert choices that went to i (seqLen*K of them under top-k), and
// P_{s,i} the mean of probs[t, i] over the tokens t of sequence s. counts
// [S, E] row-major is what router.Routing.ChoiceCounts(seqLen) returns; a
// sequence without choices contributes 0. It panics if seqLen does not
// divide N or counts is not [S, E] of non-negative entries.
func SeqLoadBalancing(tp *autograd.Tape, probs *autograd.Tensor, counts []int, seqLen int, coeff float64) *autograd.Tensor {
	n, e := checkProbs("SeqLoadBalancing", probs)
	if seqLen < 1 || n%seqLen != 0 {
		panic(fmt.Sprintf("losses.SeqLoadBalancing: sequence length %d does not divide %d tokens", seqLen, n))
	}
	s := n / seqLen
	checkCounts(counts, s, e)
	// Sum over s, t, i of f_{s,i} * probs[s,t,i] equals
	// seqLen * sum_{s,i} f_{s,i} P_{s,i}, hence the scale E / (S * seqLen).
	f := tp.Alloc(probs.DType(), s, 1, e) // [S, 1, E]
	if probs.DType() == autograd.Float64 {
		fractions(autograd.Values[float64](f), counts, e)
	} else {
		fractions(autograd.Values[float32](f), counts, e)
	}
	weighted := tp.Mul(tp.Reshape(probs, s, seqLen, e), f) // [S, L, E]
	return tp.Scale(tp.Sum(weighted), coeff*float64(e)/float64(s*seqLen))
}

// fractions writes f [S, E]: each row of counts [S, E] divided by its sum.
func fractions[T autograd.Float](f []T, counts []int, e int) {
	for row := 0; row < len(counts); row += e {
		total := 0
		for _, c := range counts[row : row+e] {
			total += c
		}
		if total == 0 {
			continue
		}
		for i, c := range counts[row : row+e] {
			f[row+i] = T(c) / T(total) // integer counts are exact in T
		}
	}
}

// checkProbs validates the load-balancing probs [N, E], N >= 1, and returns
// N and E.
func checkProbs(op string, probs *autograd.Tensor) (n, e int) {
	if len(probs.Shape()) != 2 || probs.Dim(0) < 1 {
		panic(fmt.Sprintf("losses.%s: probs shape %v, want [N, E] with N >= 1", op, probs.Shape()))
	}
	return probs.Dim(0), probs.Dim(1)
}

// checkCounts validates counts [S, E] of non-negative entries.
func checkCounts(counts []int, s, e int) {
	if len(counts) != s*e {
		panic(fmt.Sprintf("losses: %d expert counts, want %d sequences x %d experts", len(counts), s, e))
	}
	for i, c := range counts {
		if c < 0 {
			panic(fmt.Sprintf("losses: negative count %d for expert %d of sequence %d", c, i%e, i/e))
		}
	}
}
