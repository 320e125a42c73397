package configs

// CheckRunnable reports, as an Errors, the settings of a valid c that this version of moetrain
// accepts but cannot train with yet: a precision other than fp32 and more than one rank. It returns
// nil when c can be trained as it is. Each FieldError names the key, its value and the value to use.
func (c *Config) CheckRunnable() error {
	var v checks
	if c.Train.Precision != PrecisionFP32 {
		v.fail("train.precision", c.Train.Precision, "is not available in this version: training runs in fp32 only",
			"use --set train.precision=fp32")
	}
	const missing = "; multi-rank training is not available in this version"
	const hint = "use backend local, world_size 1 and expert_parallel 1"
	p := c.Parallel
	if p.Backend != BackendLocal {
		v.fail("parallel.backend", p.Backend, "is a multi-rank backend"+missing, hint+" (--set parallel.backend=local)")
	}
	if p.WorldSize != 1 {
		v.fail("parallel.world_size", p.WorldSize, "asks for several ranks"+missing, hint+" (--set parallel.world_size=1)")
	}
	if p.ExpertParallel != 1 {
		v.fail("parallel.expert_parallel", p.ExpertParallel, "splits the experts over several ranks"+missing,
			hint+" (--set parallel.expert_parallel=1)")
	}
	return v.errs.orNil()
}
