//go:build mpi

package parallel

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// Polling: while operations are in flight the progress thread tests them
// all, then, if none advanced, backs off. For mpiSpinFor it only yields the
// processor to other goroutines between rounds: the steps of a collective up
// to a few MiB follow each other within microseconds, and Go timers are too
// coarse for that (an idle runtime wakes from a short sleep after about a
// millisecond). After that it sleeps mpiSleep between rounds, which uses no
// CPU: a peer that is late costs a compute goroutine sharing the core one
// spin window, then a wakeup per millisecond or so. With nothing in flight
// the thread blocks on its queue.
const (
	mpiSpinFor = time.Millisecond
	mpiSleep   = 200 * time.Microsecond
)

// mpiAbortGrace is how long a rank whose collective timed out keeps running,
// so that its caller can report the error, before the watchdog ends the job
// with MPI_Abort.
const mpiAbortGrace = time.Second

// mpiAbortCode is the exit status MPI_Abort gives the job on a timeout.
const mpiAbortCode = 3

// mpiTask is one unit of work for the progress thread. step is called on
// the progress thread until it reports done; it posts and tests
// non-blocking operations and must not block. If deadline passes first,
// expire is called once instead and the task is dropped.
type mpiTask struct {
	deadline time.Time // zero: none
	step     func() bool
	expire   func()
}

// mpiEngine owns the one OS thread that makes every MPI call of the
// process (MPI_THREAD_FUNNELED), fed by jobs.
type mpiEngine struct {
	jobs chan *mpiTask
	// pins keeps the buffers of sends nobody waits for (close notices)
	// alive and in place; touched by the progress thread only.
	pins runtime.Pinner
}

// retain keeps buf alive and in place for the rest of the process, for an
// MPI send whose completion nobody waits for. Progress thread only.
func (e *mpiEngine) retain(buf []int64) { e.pins.Pin(&buf[0]) }

// startEngine starts the progress thread, which initializes MPI before
// serving; it returns once MPI is initialized.
func startEngine() (*mpiEngine, error) {
	e := &mpiEngine{jobs: make(chan *mpiTask, 64)}
	ready := make(chan error, 1)
	go e.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return e, nil
}

// loop is the progress thread: it initializes MPI, then runs tasks until a
// task returns the exit signal (after MPI_Finalize).
func (e *mpiEngine) loop(ready chan<- error) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	fresh, err := mpiInit()
	if err == nil && !fresh {
		err = fmt.Errorf("MPI was initialized outside moetrain; let parallel.NewMPI initialize it")
	}
	ready <- err
	if err != nil {
		return
	}
	var active []*mpiTask
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var idleSince time.Time // when the rounds stopped advancing; zero while they advance
	for {
		if len(active) == 0 {
			t, ok := <-e.jobs
			if !ok {
				return
			}
			active = append(active, t)
		}
	drain:
		for {
			select {
			case t, ok := <-e.jobs:
				if !ok {
					return
				}
				active = append(active, t)
			default:
				break drain
			}
		}
		progressed := false
		now := time.Now()
		kept := active[:0]
		for _, t := range active {
			switch {
			case t.step():
				progressed = true
			case !t.deadline.IsZero() && now.After(t.deadline):
				t.expire()
				progressed = true
			default:
				kept = append(kept, t)
			}
		}
		clear(active[len(kept):])
		active = kept
		if progressed || len(active) == 0 {
			idleSince = time.Time{}
			continue
		}
		if idleSince.IsZero() {
			idleSince = now
		}
		if now.Sub(idleSince) < mpiSpinFor {
			runtime.Gosched()
			continue
		}
		timer.Reset(mpiSleep)
		select {
		case t, ok := <-e.jobs:
			timer.Stop()
			if !ok {
				return
			}
			active = append(active, t)
			idleSince = time.Time{}
		case <-timer.C:
		}
	}
}

// do runs fn on the progress thread and waits for it. fn may block in MPI
// (communicator creation); if it takes longer than limit the watchdog ends
// the job, since a blocked progress thread can no longer time anything out.
func (e *mpiEngine) do(what string, limit time.Duration, fn func()) {
	done := make(chan struct{})
	e.jobs <- &mpiTask{step: func() bool {
		dog := time.AfterFunc(limit+mpiAbortGrace, func() {
			abortJob(fmt.Sprintf("parallel: %s did not complete within %v: a peer is stuck or died", what, limit))
		})
		fn()
		dog.Stop()
		close(done)
		return true
	}}
	<-done
}

// abortJob reports why on stderr and ends every process of the job.
func abortJob(why string) {
	fmt.Fprintf(os.Stderr, "%s; ending the job with MPI_Abort(%d)\n", why, mpiAbortCode)
	mpiAbort(mpiAbortCode)
}
