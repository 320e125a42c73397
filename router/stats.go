package router

import "math"

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
	st := Stats{TokensPerExpert: append([]int(nil), rt.TokensPerExpert...), Dropped: rt.Dropped}
	total := 0
	for _, c := range rt.TokensPerExpert {
		total += c
		st.MaxLoad = max(st.MaxLoad, c)
	}
	if e := len(rt.TokensPerExpert); e > 0 {
		st.MeanLoad = float64(total) / float64(e)
	}
	if st.MeanLoad > 0 {
		st.Imbalance = float64(st.MaxLoad) / st.MeanLoad
	}
	if rt.Probs != nil && rt.Probs.Dim(0) > 0 {
		n, e := rt.Probs.Dim(0), rt.Probs.Dim(1)
		h := 0.0
		for i := 0; i < n*e; i++ {
			if p := rt.Probs.At(i); p > 0 {
				h -= p * math.Log(p)
			}
		}
		st.Entropy = h / float64(n)
	}
	return st
}
