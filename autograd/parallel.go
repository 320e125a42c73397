package autograd

// minParallelWork is the number of element-operations below which a kernel
// runs on the calling goroutine: splitting smaller jobs costs more than it saves.
const minParallelWork = 1 << 15

// parallelFor splits [0, n) into contiguous chunks, one per core, and runs fn on
// each. cost is the approximate work per index; small jobs run inline.
func parallelFor(n, cost int, fn func(lo, hi int)) {
	workers := min(Cores(), n)
	if workers <= 1 || n*cost < minParallelWork {
		fn(0, n)
		return
	}
	SplitRange(n, workers, RangeFunc(fn))
}
