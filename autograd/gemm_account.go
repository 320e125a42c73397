package autograd

import (
	"sync/atomic"
	"time"
)

// GEMMAccount totals the GEMMs run while accounting was on: how many, their
// floating-point operations (2·m·n·k each) and the time spent inside them,
// summed over cores (core-seconds), so that it can be set against a step's
// wall time times its core count.
type GEMMAccount struct {
	Calls int64
	FLOPs float64
	Time  time.Duration
}

// GFLOPsPerCore is the GEMMs' achieved rate on one core.
func (a GEMMAccount) GFLOPsPerCore() float64 {
	if a.Time <= 0 {
		return 0
	}
	return a.FLOPs / a.Time.Seconds() / 1e9
}

// gemmAccounting is an engine's running GEMM totals.
type gemmAccounting struct {
	on           atomic.Bool
	calls, nanos atomic.Int64
	flops        atomic.Uint64 // whole operations: exact below 2^64
}

// StartGEMMAccounting clears the engine's totals and starts counting every
// GEMM its kernels run. Accounting costs two clock reads per GEMM call.
func (e *Engine) StartGEMMAccounting() {
	a := &e.account
	a.calls.Store(0)
	a.nanos.Store(0)
	a.flops.Store(0)
	a.on.Store(true)
}

// StopGEMMAccounting stops counting and returns the totals since
// StartGEMMAccounting.
func (e *Engine) StopGEMMAccounting() GEMMAccount {
	a := &e.account
	a.on.Store(false)
	return GEMMAccount{
		Calls: a.calls.Load(),
		FLOPs: float64(a.flops.Load()),
		Time:  time.Duration(a.nanos.Load()),
	}
}

// accountGEMM adds one finished m×n×k GEMM that started at start.
func (a *gemmAccounting) add(m, n, k int, start time.Time) {
	a.nanos.Add(int64(time.Since(start)))
	a.calls.Add(1)
	a.flops.Add(2 * uint64(m) * uint64(n) * uint64(k))
}
