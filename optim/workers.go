package optim

import "github.com/moetrain/moetrain/autograd"

// parallelRange runs r over [0, n), cut into a few contiguous chunks per
// core, each of at least grain indices, that every core claims in turn
// (the engine's SplitRange). Small ranges run inline. A pointer r is handed
// over without allocating.
func parallelRange(e *autograd.Engine, n, grain int, r autograd.Ranger) {
	e.SplitRange(n, e.ChunksFor(n, grain), r)
}
