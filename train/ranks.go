package train

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/parallel"
)

// RankOptions returns the Options of world rank r: the run's options with
// that rank's own Train batches (from the same sampler as every other rank's).
// RunLocal and RunRank fill in Parallel, and Engine when it is nil.
type RankOptions func(rank int) (Options, error)

// RunLocal trains c.Parallel.WorldSize ranks as goroutines of this process
// over the local backend (parallel.NewLocal, with c.Parallel.Timeout), each
// on an engine of its share of the cores, and returns rank 0's result.
// started, when set, is called with each rank's trainer once it is built,
// before it trains (to print, or to route signals to Stop). A rank that
// fails makes the others stop within the timeout; the error returned is
// the failing rank's own, not its peers' reports of losing it.
func RunLocal(ctx context.Context, c *configs.Config, opts RankOptions, started func(rank int, tr *Trainer)) (*Result, error) {
	w := c.Parallel.WorldSize
	comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: Timeout(c)})
	if err != nil {
		return nil, err
	}
	cores := max(1, runtime.GOMAXPROCS(0)/w)
	results := make([]*Result, w)
	errs := parallel.Run(comms, func(comm parallel.Comm) error {
		r := comm.Rank()
		eng := autograd.NewEngine(autograd.EngineOptions{Cores: cores})
		defer eng.Close()
		res, err := RunRank(ctx, comm, c, func(int) (Options, error) {
			o, err := opts(r)
			if o.Engine == nil {
				o.Engine = eng
			}
			return o, err
		}, started)
		results[r] = res
		if err != nil {
			return fmt.Errorf("rank %d: %w", r, err)
		}
		return nil
	})
	for _, comm := range comms {
		_ = comm.Close()
	}
	if err := rootCause(errs); err != nil {
		return nil, err
	}
	return results[0], nil
}

// RunRank trains this process's rank of a run whose world is comm (one
// process per rank, as under mpirun): splits the groups, builds the trainer
// from opts(comm.Rank()) and trains it. Every rank of comm must call it.
func RunRank(ctx context.Context, comm parallel.Comm, c *configs.Config, opts RankOptions, started func(rank int, tr *Trainer)) (*Result, error) {
	par, err := NewParallel(comm, c.Parallel.ExpertParallel)
	if err != nil {
		return nil, err
	}
	defer par.Close()
	o, err := opts(comm.Rank())
	if err != nil {
		return nil, err
	}
	o.Parallel = par
	tr, err := New(o)
	if err != nil {
		return nil, err
	}
	if started != nil {
		started(comm.Rank(), tr)
	}
	return tr.Run(ctx)
}

// Timeout is how long a collective of c's run waits for a peer.
func Timeout(c *configs.Config) time.Duration {
	return time.Duration(c.Parallel.Timeout * float64(time.Second))
}

// rootCause picks, of the ranks' errors, the one that explains the others:
// the first that is not a collective failing because a peer was lost or
// closed (what the other ranks report when one fails), else the first.
func rootCause(errs []error) error {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		var pe *parallel.Error
		if !errors.As(err, &pe) {
			return err
		}
	}
	return first
}
