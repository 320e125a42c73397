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

var gemmAccount struct {
	on           atomic.Bool
	calls, nanos atomic.Int64
	flops        atomic.Uint64 // whole operations: exact below 2^64
}

// StartGEMMAccounting clears the totals and starts counting every GEMM the
// kernels run. Accounting costs two clock reads per GEMM call.
func StartGEMMAccounting() {
	gemmAccount.calls.Store(0)
	gemmAccount.nanos.Store(0)
	gemmAccount.flops.Store(0)
	gemmAccount.on.Store(true)
}

// StopGEMMAccounting stops counting and returns the totals since
// StartGEMMAccounting.
func StopGEMMAccounting() GEMMAccount {
	gemmAccount.on.Store(false)
	return GEMMAccount{
		Calls: gemmAccount.calls.Load(),
		FLOPs: float64(gemmAccount.flops.Load()),
		Time:  time.Duration(gemmAccount.nanos.Load()),
	}
}

// accountGEMM adds one finished m×n×k GEMM that started at start.
func accountGEMM(m, n, k int, start time.Time) {
	gemmAccount.nanos.Add(int64(time.Since(start)))
	gemmAccount.calls.Add(1)
	gemmAccount.flops.Add(2 * uint64(m) * uint64(n) * uint64(k))
}
