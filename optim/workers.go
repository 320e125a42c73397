package optim

import "github.com/moetrain/moetrain/autograd"

// parallelRange runs r over [0, n), split into at most one contiguous chunk
// per core, each of at least grain indices, on autograd's core helpers (the
// calling goroutine runs the first chunk). Small ranges run inline. A
// pointer r is handed over without allocating.
func parallelRange(n, grain int, r autograd.Ranger) {
	autograd.SplitRange(n, min(autograd.Cores(), n/max(grain, 1)), r)
}
