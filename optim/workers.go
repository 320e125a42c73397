package optim

import "github.com/moetrain/moetrain/autograd"

// chunksPerCore is how many chunks a large range is cut into per core, so
// that the cores can even out their speeds.
const chunksPerCore = 4

// parallelRange runs r over [0, n), cut into a few contiguous chunks per
// core, each of at least grain indices, that every core claims in turn
// (autograd.SplitRange). Small ranges run inline. A pointer r is handed over
// without allocating.
func parallelRange(n, grain int, r autograd.Ranger) {
	autograd.SplitRange(n, min(chunksPerCore*autograd.Cores(), n/max(grain, 1)), r)
}
