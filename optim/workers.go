package optim

import (
	"runtime"
	"sync"
)

// ranger is work over an index range [lo, hi) that may be split into
// disjoint sub-ranges run concurrently.
type ranger interface {
	runRange(lo, hi int)
}

// task is one sub-range handed to a pool worker.
type task struct {
	r      ranger
	lo, hi int
	wg     *sync.WaitGroup
}

// workers is the package's pool: long-lived goroutines that run sub-ranges.
// Handing a task over a channel allocates nothing, where starting a goroutine
// per chunk would allocate its closure on every call.
var workers struct {
	once  sync.Once
	tasks chan task
}

func startWorkers() {
	n := max(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	workers.tasks = make(chan task, 4*n)
	for i := 0; i < n; i++ {
		go func() {
			for t := range workers.tasks {
				t.r.runRange(t.lo, t.hi)
				t.wg.Done()
			}
		}()
	}
}

// parallelRange runs r over [0, n), split into at most GOMAXPROCS contiguous
// chunks of at least grain indices each; the calling goroutine runs the first
// chunk and waits for the rest. wg must be idle and is used for the wait; it
// belongs to the caller so that the call allocates nothing. Small ranges run
// inline.
func parallelRange(n, grain int, r ranger, wg *sync.WaitGroup) {
	parts := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if parts <= 1 {
		r.runRange(0, n)
		return
	}
	workers.once.Do(startWorkers)
	chunk := (n + parts - 1) / parts
	for lo := chunk; lo < n; lo += chunk {
		wg.Add(1)
		workers.tasks <- task{r: r, lo: lo, hi: min(lo+chunk, n), wg: wg}
	}
	r.runRange(0, chunk)
	wg.Wait()
}
