package configs

// CheckRunnable reports, as an Errors, the settings of a valid c that this version of moetrain
// accepts but cannot train with yet: a precision other than fp32. It returns nil when c can be
// trained as it is. Each FieldError names the key, its value and the value to use. Whether the
// binary holds the MPI backend that parallel.backend=mpi asks for is checked where the ranks start.
func (c *Config) CheckRunnable() error {
	var v checks
	if c.Train.Precision != PrecisionFP32 {
		v.fail("train.precision", c.Train.Precision, "is not available in this version: training runs in fp32 only",
			"use --set train.precision=fp32")
	}
	return v.errs.orNil()
}
