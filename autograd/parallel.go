package autograd

// minParallelWork is the number of element-operations below which a kernel
// runs on the calling goroutine: splitting smaller jobs costs more than it saves.
const minParallelWork = 1 << 15

// chunksPerCore is how many chunks SplitRange callers cut a large job into
// per core, so that the cores can even out what the chunks cost.
const chunksPerCore = 4

// ChunksFor is the number of chunks to cut work (in any unit) into for
// SplitRange: a few per core, none smaller than minChunk.
func (e *Engine) ChunksFor(work, minChunk int) int {
	return max(1, min(chunksPerCore*e.Cores(), work/max(minChunk, 1)))
}

// parallelFor splits [0, n) into contiguous chunks, a few per core, and runs
// fn on each (SplitRange). cost is the approximate work per index; small
// jobs run inline.
func (e *Engine) parallelFor(n, cost int, fn func(lo, hi int)) {
	if n*cost < minParallelWork || e.Cores() <= 1 {
		fn(0, n)
		return
	}
	e.SplitRange(n, e.ChunksFor(n*cost, minParallelWork/2), RangeFunc(fn))
}
