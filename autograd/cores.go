package autograd

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Every kernel that splits its work across cores goes through SplitRange.
// The chunks after the first run on long-lived helper goroutines, one per extra
// core, that keep polling for a while after each job before they park: a
// training step hands out hundreds of sub-millisecond jobs, and waking a
// parked thread for each costs a futex call and, on virtual machines whose
// idle vCPUs halt, tens to hundreds of microseconds before the part starts.
// A polling helper yields its core (runtime.Gosched) between polls, so
// other goroutines are never kept waiting behind it.

// helperPoll is how long an idle helper keeps polling for its next job
// before it parks.
const helperPoll = 2 * time.Millisecond

// Ranger is work over an index range [lo, hi) that can be split into
// disjoint sub-ranges run concurrently.
type Ranger interface {
	RunRange(lo, hi int)
}

// RangeFunc adapts a function to Ranger.
type RangeFunc func(lo, hi int)

// RunRange calls f(lo, hi).
func (f RangeFunc) RunRange(lo, hi int) { f(lo, hi) }

// coreHelper runs one chunk of each job handed to it.
type coreHelper struct {
	posted   atomic.Uint64 // jobs handed over
	finished atomic.Uint64 // jobs done
	parked   atomic.Bool
	wake     chan struct{} // capacity 1: a posted job for a parked helper
	r        Ranger
	lo, hi   int
	_        [64]byte // keeps helpers on separate cache lines
}

// helpers is the package's pool. busy is held by the one SplitRange that
// owns the helpers; a SplitRange that finds them busy (a nested or
// concurrent call) runs its chunks on new goroutines instead.
var helpers struct {
	once sync.Once
	busy atomic.Bool
	all  []*coreHelper
}

func startHelpers() {
	helpers.all = make([]*coreHelper, runtime.GOMAXPROCS(0)-1)
	for i := range helpers.all {
		h := &coreHelper{wake: make(chan struct{}, 1)}
		helpers.all[i] = h
		go h.loop()
	}
}

// loop runs the jobs posted to h, one at a time, forever.
func (h *coreHelper) loop() {
	for done := uint64(0); ; done++ {
		h.await(done)
		h.r.RunRange(h.lo, h.hi)
		h.r = nil
		h.finished.Store(done + 1)
	}
}

// await returns once job done+1 has been posted: it polls for helperPoll,
// then parks until post wakes it.
func (h *coreHelper) await(done uint64) {
	var start time.Time
	for polls := 1; h.posted.Load() == done; polls++ {
		if polls%64 != 0 {
			continue
		}
		if polls == 64 {
			start = time.Now()
		} else if time.Since(start) > helperPoll {
			h.park(done)
			return
		}
		runtime.Gosched()
	}
}

// park sleeps until a job after done is posted.
func (h *coreHelper) park(done uint64) {
	h.parked.Store(true)
	if h.posted.Load() != done {
		// A job arrived while parking; if its poster saw the flag, it sent
		// a wake-up token: take it back.
		if !h.parked.CompareAndSwap(true, false) {
			<-h.wake
		}
		return
	}
	<-h.wake
}

// post hands r's [lo, hi) to h.
func (h *coreHelper) post(r Ranger, lo, hi int) {
	h.r, h.lo, h.hi = r, lo, hi
	h.posted.Add(1)
	if h.parked.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

// wait returns once h has finished every job posted to it.
func (h *coreHelper) wait() {
	want := h.posted.Load()
	for polls := 0; h.finished.Load() != want; polls++ {
		if polls >= 64 {
			runtime.Gosched()
		}
	}
}

// SplitRange runs r over [0, n) split into at most parts contiguous chunks
// side by side, the first on the calling goroutine, and returns when all are
// done. Chunks beyond the cores (GOMAXPROCS), and those of a call made while
// another SplitRange holds the helpers, run on new goroutines. A Ranger that
// is a pointer, or a RangeFunc, is handed over without allocating.
func SplitRange(n, parts int, r Ranger) {
	parts = min(parts, n)
	if parts <= 1 {
		if n > 0 {
			r.RunRange(0, n)
		}
		return
	}
	chunk := (n + parts - 1) / parts
	parts = (n + chunk - 1) / chunk
	helpers.once.Do(startHelpers)
	if parts-1 > len(helpers.all) || !helpers.busy.CompareAndSwap(false, true) {
		splitOnGoroutines(n, chunk, r)
		return
	}
	defer helpers.busy.Store(false)
	for i := 1; i < parts; i++ {
		helpers.all[i-1].post(r, i*chunk, min((i+1)*chunk, n))
	}
	r.RunRange(0, chunk)
	for i := 1; i < parts; i++ {
		helpers.all[i-1].wait()
	}
}

// splitOnGoroutines is SplitRange without the helpers.
func splitOnGoroutines(n, chunk int, r Ranger) {
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.RunRange(lo, min(lo+chunk, n))
		}()
	}
	r.RunRange(0, chunk)
	wg.Wait()
}

// Cores is the number of parts worth splitting a large job into.
func Cores() int { return runtime.GOMAXPROCS(0) }
