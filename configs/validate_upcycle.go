package configs

import "fmt"

// upcycle checks the keys under upcycle. The defaults are valid for every model, and the rules that
// tie the upcycle keys to the MoE shape apply only to the method that needs them, so a configuration
// that is never used for upcycling is not refused for its upcycle section.
func (v *checks) upcycle(c *Config) {
	u := c.Upcycle
	methodOK := v.oneOf("upcycle.method", string(u.Method))
	v.atLeast("upcycle.granularity", u.Granularity, 1, "use 1 unless upcycle.method is granular")
	if methodOK && u.Method != UpcycleGranular && u.Granularity > 1 {
		v.fail("upcycle.granularity", u.Granularity, fmt.Sprintf("applies only to upcycle.method granular, not %q", u.Method),
			"set upcycle.granularity=1, or upcycle.method=granular to split the FFN into shards")
	}
	v.nonNegative("upcycle.router_init_std", u.RouterInitStd, "the usual value is 0.02")
	if !(u.DropRatio >= 0 && u.DropRatio <= 1) {
		v.fail("upcycle.drop_ratio", u.DropRatio, "must be in [0, 1]", "give the fraction of neurons to re-initialise, e.g. 0.5")
	}
	v.nonNegative("upcycle.noise_std", u.NoiseStd, "use 0 for exact copies")
	if u.Method == UpcycleGranular && u.Granularity > 1 && !c.IsDense() {
		v.granularShape(c, u.Granularity)
	}
}

// granularShape checks that an MoE model can hold granular copies of G experts each: every layer's
// expert count and moe.top_k must be multiples of G, so that top-k routing picks whole copies.
func (v *checks) granularShape(c *Config, g int) {
	why := fmt.Sprintf("upcycle.granularity = %d", g)
	if c.MoE.TopK >= 1 && c.MoE.TopK%g != 0 {
		v.fail("moe.top_k", c.MoE.TopK, "is not a multiple of "+why,
			"granular upcycling routes whole copies of the FFN, each G experts wide; make top_k a multiple of G")
	}
	for i, e := range c.layerExperts() {
		if e >= 1 && e%g != 0 {
			v.fail("moe.num_experts", c.MoE.NumExperts, fmt.Sprintf("gives layer %d %d experts, not a multiple of %s", i, e, why),
				"each copy of the FFN becomes G experts; make num_experts a multiple of G")
			return
		}
	}
}
