package autograd

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Every kernel that splits its work across cores goes through SplitRange:
// the work is cut into chunks, and the calling goroutine and one long-lived
// helper goroutine per extra core claim chunks one at a time until none is
// left. Claiming, not dealing out fixed shares, keeps every core busy to the
// end even when chunks cost different amounts or one core runs slower for a
// while (on a shared virtual machine, it often does).
//
// Helpers keep polling for a while after each job before they park: a
// training step hands out hundreds of sub-millisecond jobs, and waking a
// parked thread for each costs a futex call and, on virtual machines whose
// idle vCPUs halt, tens to hundreds of microseconds before the work starts.
// A polling helper yields its core (runtime.Gosched) between polls, so other
// goroutines are never kept waiting behind it.

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

// splitJob is one SplitRange call: r over [0, n) in chunks of chunk indices,
// next the first unclaimed chunk.
type splitJob struct {
	r        Ranger
	n, chunk int
	next     atomic.Int64
	panicked atomic.Pointer[any] // the first panic of a chunk run off the caller
}

// runCatching is run for goroutines other than the caller: a panic is kept
// for the caller to raise again, and the chunks left are skipped.
func (j *splitJob) runCatching() {
	defer func() {
		if p := recover(); p != nil {
			j.keep(p)
		}
	}()
	j.run()
}

// keep records the first panic and stops further claims.
func (j *splitJob) keep(p any) {
	j.panicked.CompareAndSwap(nil, &p)
	j.next.Store(int64((j.n + j.chunk - 1) / j.chunk)) // past the last chunk
}

// repanic raises again, on the caller, a panic caught by runCatching.
func (j *splitJob) repanic() {
	if p := j.panicked.Swap(nil); p != nil {
		panic(*p)
	}
}

// run claims and runs chunks until none is left.
func (j *splitJob) run() {
	for {
		lo := int(j.next.Add(1)-1) * j.chunk
		if lo >= j.n {
			return
		}
		j.r.RunRange(lo, min(lo+j.chunk, j.n))
	}
}

// coreHelper claims chunks of each job posted to it.
type coreHelper struct {
	job    atomic.Pointer[splitJob] // the job posted and not yet finished
	parked atomic.Bool
	wake   chan struct{} // capacity 1: a posted job for a parked helper
	_      [64]byte      // keeps helpers on separate cache lines
}

// corePool is an engine's helpers. busy is held by the one SplitRange that
// owns the helpers and job; a SplitRange that finds them busy (a nested or
// concurrent call) runs on new goroutines instead. all is nil until the
// first split, and again after stop.
type corePool struct {
	busy atomic.Bool
	all  []*coreHelper
	job  splitJob
}

// stopJob, posted to a helper, ends its loop.
var stopJob = &splitJob{}

// acquire takes the pool for one split, starting workers helpers if there
// are none; it reports false when another split holds it.
func (p *corePool) acquire(workers int) bool {
	if !p.busy.CompareAndSwap(false, true) {
		return false
	}
	if p.all == nil {
		p.all = make([]*coreHelper, workers)
		for i := range p.all {
			h := &coreHelper{wake: make(chan struct{}, 1)}
			p.all[i] = h
			go h.loop()
		}
	}
	return true
}

// stop waits until no split holds the pool and ends its helpers.
func (p *corePool) stop() {
	for !p.busy.CompareAndSwap(false, true) {
		runtime.Gosched()
	}
	for _, h := range p.all {
		h.post(stopJob)
		h.wait()
	}
	p.all = nil
	p.busy.Store(false)
}

// loop runs the jobs posted to h, one at a time, forever; clearing h.job
// tells the poster the job is done.
func (h *coreHelper) loop() {
	for {
		j := h.await()
		if j == stopJob {
			h.job.Store(nil)
			return
		}
		j.runCatching()
		h.job.Store(nil)
	}
}

// await returns the posted job once there is one: it polls for helperPoll,
// then parks until post wakes it.
func (h *coreHelper) await() *splitJob {
	var start time.Time
	for polls := 1; ; polls++ {
		if j := h.job.Load(); j != nil {
			return j
		}
		if polls%64 != 0 {
			continue
		}
		if polls == 64 {
			start = time.Now()
		} else if time.Since(start) > helperPoll {
			h.park()
			polls = 0
			continue
		}
		runtime.Gosched()
	}
}

// park sleeps until a job is posted (or returns at once if one is).
func (h *coreHelper) park() {
	h.parked.Store(true)
	if h.job.Load() != nil {
		// A job arrived while parking; if its poster saw the flag, it sent
		// a wake-up token: take it back.
		if !h.parked.CompareAndSwap(true, false) {
			<-h.wake
		}
		return
	}
	<-h.wake
}

// post hands job to h, which must be idle.
func (h *coreHelper) post(job *splitJob) {
	h.job.Store(job)
	if h.parked.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

// wait returns once h has finished the job posted to it.
func (h *coreHelper) wait() {
	for polls := 0; h.job.Load() != nil; polls++ {
		if polls >= 64 {
			runtime.Gosched()
		}
	}
}

// SplitRange runs r over [0, n), cut into at most chunks contiguous chunks of
// near-equal length, side by side on every core: the calling goroutine and
// the helpers each claim the next unclaimed chunk until none is left, and
// SplitRange returns when all are done. A panic in any chunk is raised on the
// calling goroutine once the others have stopped. Ask for a few chunks per core when
// their costs may differ; a chunk per core when they cannot. A Ranger that is
// a pointer, or a RangeFunc, is handed over without allocating.
func (e *Engine) SplitRange(n, chunks int, r Ranger) {
	chunks = min(chunks, n)
	cores := e.Cores()
	if chunks <= 1 || cores <= 1 { // one core: one call, nothing to even out
		if n > 0 {
			r.RunRange(0, n)
		}
		return
	}
	chunk := (n + chunks - 1) / chunks
	p := &e.pool
	if !p.acquire(cores - 1) {
		splitOnGoroutines(cores, n, chunk, r)
		return
	}
	workers := min(len(p.all), (n+chunk-1)/chunk-1)
	if workers == 0 {
		p.busy.Store(false)
		splitOnGoroutines(cores, n, chunk, r)
		return
	}
	job := &p.job
	job.r, job.n, job.chunk = r, n, chunk
	job.next.Store(0)
	job.panicked.Store(nil) // left by a job whose caller panicked too
	for _, h := range p.all[:workers] {
		h.post(job)
	}
	// Even when a chunk panics here, the helpers finish theirs before the
	// job and the helpers are released. A helper's panic is raised here.
	defer func() {
		for _, h := range p.all[:workers] {
			h.wait()
		}
		job.r = nil
		p.busy.Store(false)
	}()
	job.run()
	for _, h := range p.all[:workers] {
		h.wait()
	}
	job.repanic()
}

// splitOnGoroutines is SplitRange on new goroutines, one per core.
func splitOnGoroutines(cores, n, chunk int, r Ranger) {
	job := &splitJob{r: r, n: n, chunk: chunk}
	var wg sync.WaitGroup
	defer wg.Wait()
	for range min(cores, (n+chunk-1)/chunk) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job.runCatching()
		}()
	}
	job.run()
	wg.Wait()
	job.repanic()
}
