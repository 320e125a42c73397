package configs

import "fmt"

// router checks the keys under moe.router. Beyond each key's own range it refuses the combinations
// the router cannot build or cannot honour, so that a configuration that validates also builds: a
// model is never the first to reject it.
func (v *checks) router(c *Config) {
	r := c.MoE.Router
	typeOK := v.oneOf("moe.router.type", string(r.Type))
	v.fraction("moe.router.jitter_eps", r.JitterEps, "use 0 to switch jitter off, or a small value such as 0.01")
	v.nonNegative("moe.router.bias_update_rate", r.BiasUpdateRate, "the usual value is 0.001")
	v.nonNegative("moe.router.noise_std", r.NoiseStd, "use 1 for unit Gaussian noise")
	if r.Type == RouterNoisyTopK && r.NoiseStd == 0 {
		v.fail("moe.router.noise_std", r.NoiseStd, "must be > 0 with moe.router.type noisy_topk",
			"set a noise scale such as 1, or use moe.router.type topk_softmax")
	}
	if !typeOK || c.IsDense() {
		return // a dense model builds no router; the combinations below cannot matter
	}
	if r.PreSoftmax && r.Type != RouterTopKSoftmax {
		v.fail("moe.router.pre_softmax", r.PreSoftmax, fmt.Sprintf("applies only to moe.router.type topk_softmax, not %q",
			r.Type), fmt.Sprintf("set moe.router.pre_softmax=false for %s (its K weights are already normalised over the chosen experts), "+
			"or moe.router.type=topk_softmax", r.Type))
	}
	if !r.Normalize {
		switch {
		case r.Type != RouterTopKSoftmax:
			v.fail("moe.router.normalize", r.Normalize, fmt.Sprintf("cannot be honoured by moe.router.type %s, whose K weights always sum to 1",
				r.Type), "set moe.router.normalize=true, or moe.router.type=topk_softmax to keep the K probabilities as they are")
		case r.PreSoftmax:
			v.fail("moe.router.normalize", r.Normalize, "cannot be honoured with moe.router.pre_softmax: the softmax over the K chosen logits always sums to 1",
				"set moe.router.normalize=true, or moe.router.pre_softmax=false to keep the K softmax probabilities as they are")
		}
	}
}
