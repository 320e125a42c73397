package optim

import "github.com/moetrain/moetrain/autograd"

// parallelRange runs r over [0, n), cut into a few contiguous chunks per
// core, each of at least grain indices, that every core claims in turn
// (autograd.SplitRange). Small ranges run inline. A pointer r is handed over
// without allocating.
func parallelRange(n, grain int, r autograd.Ranger) {
	autograd.SplitRange(n, autograd.ChunksFor(n, grain), r)
}
