package router

import (
	"math"

	"github.com/moetrain/moetrain/autograd"
)

// Stats summarises one routing decision for logging.
type Stats struct {
	TokensPerExpert []int   // [E] kept slots per expert
	Dropped         int     // slots dropped by capacity
	MaxLoad         int     // the largest entry of TokensPerExpert
	MeanLoad        float64 // kept slots / E
	// Imbalance is MaxLoad / MeanLoad: 1 when perfectly balanced, E when one
	// expert takes every slot (0 when nothing was kept).
	Imbalance float64
	// Entropy is the mean over tokens of the entropy of Probs, in nats: ln E
	// for a uniform router, 0 for a certain one.
	Entropy float64
}

// Stats returns the routing's load and entropy statistics. The values are
// copies; the Routing's tensors must still be live (before Tape.Reset).
func (rt *Routing) Stats() Stats {
	st := Stats{TokensPerExpert: rt.TokensPerExpert(), Dropped: rt.Dropped}
	total := 0
	for _, c := range st.TokensPerExpert {
		total += c
		st.MaxLoad = max(st.MaxLoad, c)
	}
	if e := len(st.TokensPerExpert); e > 0 {
		st.MeanLoad = float64(total) / float64(e)
	}
	if st.MeanLoad > 0 {
		st.Imbalance = float64(st.MaxLoad) / st.MeanLoad
	}
	if rt.Probs != nil && rt.Probs.Dim(0) > 0 {
		if rt.Probs.DType() == autograd.Float64 {
			st.Entropy = meanEntropy(autograd.Values[float64](rt.Probs), scoresOf[float64](rt), rt.Probs.Dim(1))
		} else {
			st.Entropy = meanEntropy(autograd.Values[float32](rt.Probs), scoresOf[float32](rt), rt.Probs.Dim(1))
		}
	}
	return st
}

// scoresOf returns the values Probs is the row softmax of, or nil.
func scoresOf[T autograd.Float](rt *Routing) []T {
	if rt.base == nil {
		return nil
	}
	return autograd.Values[T](rt.base)
}

// meanEntropy returns the mean over rows of -sum_i p_i ln p_i for probs
// [N, E]. When probs = softmax(scores) it needs one logarithm per row, not
// one per entry: ln p_i = s_i - lse for every i, so taking j = argmax p,
// lse = s_j - ln p_j and the entropy is lse - sum_i p_i s_i.
func meanEntropy[T autograd.Float](probs, scores []T, e int) float64 {
	n := len(probs) / e
	h := 0.0
	for r := 0; r < n; r++ {
		p := probs[r*e : (r+1)*e]
		if scores == nil {
			for _, v := range p {
				if v > 0 {
					h -= float64(v) * math.Log(float64(v))
				}
			}
			continue
		}
		s := scores[r*e : (r+1)*e]
		j, dot := 0, 0.0
		for i, v := range p {
			if v > p[j] {
				j = i
			}
			dot += float64(v) * float64(s[i])
		}
		h += float64(s[j]) - math.Log(float64(p[j])) - dot
	}
	return h / float64(n)
}
