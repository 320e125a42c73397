package autograd

import (
	"runtime"
	"sync"
)

// minParallelWork is the number of element-operations below which a kernel
// runs on the calling goroutine: splitting smaller jobs costs more than it saves.
const minParallelWork = 1 << 15

// parallelFor splits [0, n) into contiguous chunks, one per core, and runs fn on
// each. cost is the approximate work per index; small jobs run inline.
func parallelFor(n, cost int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 || n*cost < minParallelWork {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, min(chunk, n))
	wg.Wait()
}
