package router

import "fmt"

// UpdateBias moves the expert bias towards balance (DeepSeek-V3's
// auxiliary-loss-free balancing): bias_i += rate * sign(mean load - load_i),
// so an under-loaded expert becomes likelier to be chosen and an overloaded
// one less. tokensPerExpert [E] is the load of the step just taken (summed
// over data-parallel ranks by the caller when there are several). It is a
// no-op unless Config.ExpertBias is set, and panics if the length is not E.
func (r *Router) UpdateBias(tokensPerExpert []int) {
	if len(tokensPerExpert) != len(r.bias) {
		panic(fmt.Sprintf("router.UpdateBias: %d loads for %d experts", len(tokensPerExpert), len(r.bias)))
	}
	if !r.cfg.ExpertBias || r.cfg.BiasUpdateRate == 0 {
		return
	}
	total := 0
	for _, c := range tokensPerExpert {
		total += c
	}
	mean := float64(total) / float64(len(tokensPerExpert))
	rate := float32(r.cfg.BiasUpdateRate)
	for i, c := range tokensPerExpert {
		switch load := float64(c); {
		case load < mean:
			r.bias[i] += rate
		case load > mean:
			r.bias[i] -= rate
		}
	}
}

// Bias returns a copy of the expert bias [E]: router state to checkpoint
// (all zeros unless Config.ExpertBias).
func (r *Router) Bias() []float32 { return append([]float32(nil), r.bias...) }

// SetBias restores the expert bias [E] from a checkpoint. It returns an error
// if the length is not E.
func (r *Router) SetBias(bias []float32) error {
	if len(bias) != len(r.bias) {
		return fmt.Errorf("router: bias of %d entries for %d experts", len(bias), len(r.bias))
	}
	copy(r.bias, bias)
	return nil
}
