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
// as a [1] tensor, where f_i = (slots routed to expert i) / (N*K), counted
// from experts [N*K] (dropped slots included) and held constant, and P_i is
// the mean over tokens of probs[:, i] with probs [N, E]. It is coeff for a
// perfectly balanced router and coeff * E when every token goes to one expert
// with certainty. Gradients flow into probs. It panics if the shapes
// disagree or an expert index is out of range.
func LoadBalancing(tp *autograd.Tape, probs *autograd.Tensor, experts []int32, topK int, coeff float64) *autograd.Tensor {
	n, _ := checkBalance("LoadBalancing", probs, experts, topK)
	return SeqLoadBalancing(tp, probs, experts, topK, n, coeff) // one sequence of N tokens
}

// SeqLoadBalancing is LoadBalancing computed per sequence of seqLen tokens
// (the rows of probs [N, E] taken seqLen at a time) and averaged over the
// N/seqLen sequences (DeepSeek-V2/V3's sequence-wise balance loss):
//
//	coeff * E / S * sum_s sum_i f_{s,i} * P_{s,i}
//
// with f_{s,i} = (slots of sequence s routed to i) / (seqLen*K) and P_{s,i}
// the mean of probs[t, i] over the tokens t of sequence s. It panics if
// seqLen does not divide N or the shapes disagree.
func SeqLoadBalancing(tp *autograd.Tape, probs *autograd.Tensor, experts []int32, topK, seqLen int, coeff float64) *autograd.Tensor {
	n, e := checkBalance("SeqLoadBalancing", probs, experts, topK)
	if seqLen < 1 || n%seqLen != 0 {
		panic(fmt.Sprintf("losses.SeqLoadBalancing: sequence length %d does not divide %d tokens", seqLen, n))
	}
	s := n / seqLen
	// Sum over s, t, i of f_{s,i} * probs[s,t,i] equals
	// seqLen * sum_{s,i} f_{s,i} P_{s,i}, hence the scale E / (S * seqLen).
	f := tp.Alloc(probs.DType(), s, 1, e) // [S, 1, E]
	if probs.DType() == autograd.Float64 {
		fractions(autograd.Values[float64](f), experts, topK, seqLen, e)
	} else {
		fractions(autograd.Values[float32](f), experts, topK, seqLen, e)
	}
	weighted := tp.Mul(tp.Reshape(probs, s, seqLen, e), f) // [S, L, E]
	return tp.Scale(tp.Sum(weighted), coeff*float64(e)/float64(s*seqLen))
}

// fractions writes f [S, E]: the share of sequence s's seqLen*K slots routed
// to each expert.
func fractions[T autograd.Float](f []T, experts []int32, topK, seqLen, e int) {
	per := seqLen * topK
	for slot, ex := range experts {
		f[slot/per*e+int(ex)]++ // integer counts are exact in T
	}
	for i := range f {
		f[i] /= T(per)
	}
}

// checkBalance validates the load-balancing inputs and returns N and E.
func checkBalance(op string, probs *autograd.Tensor, experts []int32, topK int) (n, e int) {
	if len(probs.Shape()) != 2 {
		panic(fmt.Sprintf("losses.%s: probs shape %v, want [N, E]", op, probs.Shape()))
	}
	n, e = probs.Dim(0), probs.Dim(1)
	if n < 1 || topK < 1 || len(experts) != n*topK {
		panic(fmt.Sprintf("losses.%s: %d expert choices for %d tokens with top-k %d", op, len(experts), n, topK))
	}
	for _, ex := range experts {
		if ex < 0 || int(ex) >= e {
			panic(fmt.Sprintf("losses.%s: expert %d outside [0, %d)", op, ex, e))
		}
	}
	return n, e
}
