package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/parallel"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

// trainers are the ranks of a run that this process holds (one, or all of a
// local-backend run), indexed by rank and filled in as each starts: a stop
// signal goes to every one, and progress is rank 0's.
type trainers struct {
	mu      sync.Mutex
	ranks   []*train.Trainer
	stopped bool
}

// newTrainers returns the set of a one-rank run.
func newTrainers(tr *train.Trainer) *trainers { return &trainers{ranks: []*train.Trainer{tr}} }

// add records rank's trainer; one that starts after a stop is stopped too.
func (s *trainers) add(rank int, tr *train.Trainer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ranks) <= rank {
		s.ranks = append(s.ranks, nil)
	}
	s.ranks[rank] = tr
	if s.stopped {
		tr.Stop()
	}
}

// Stop asks every rank to stop at the next step boundary and returns the
// step they stop after (the ranks agree on it).
func (s *trainers) Stop() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	after := 0
	for _, tr := range s.ranks {
		if tr != nil {
			after = max(after, tr.Stop())
		}
	}
	return after
}

// Progress is rank 0's (the first rank this process holds): steps done and
// the newest checkpoint's step (-1: none yet).
func (s *trainers) Progress() (done, saved int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range s.ranks {
		if tr != nil {
			return tr.Progress()
		}
	}
	return 0, -1
}

// executeRanks trains a multi-rank run: the ranks as goroutines of this
// process (parallel.backend local) or this process as one rank of an MPI job
// (mpi). Rank 0 prints; a stop signal reaches every rank of this process.
func (r trainRun) executeRanks(cmd *cobra.Command) error {
	w := cmd.OutOrStdout()
	p := r.cfg.Parallel
	models, err := r.rankModels()
	if err != nil {
		return err
	}
	set := &trainers{}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	go watchSignals(sigs, finished, set, r.cfg.Train.Steps, cmd.ErrOrStderr())
	var nothingToDo bool
	started := func(rank int, tr *train.Trainer) {
		set.add(rank, tr)
		if rank == 0 {
			nothingToDo = r.started(w, tr)
			fmt.Fprintf(w, "parallel: %d ranks (%s backend), %d data-parallel x %d expert-parallel; global batch %d sequences = %d per micro-batch x %d ranks x %d accumulation steps; %s\n",
				p.WorldSize, p.Backend, p.WorldSize/p.ExpertParallel, p.ExpertParallel, r.cfg.GlobalBatch(),
				r.cfg.Train.MicroBatchSize, p.WorldSize, r.cfg.AccumSteps(), coresLine(p))
		}
	}
	opts := func(rank int) (train.Options, error) {
		m := r.model
		if rank < len(models) {
			m = models[rank]
		}
		return r.options(w, m), nil // rank 0 alone claims (with --force: clears) the run directory: train.New
	}
	var res *train.Result
	rank := 0
	switch p.Backend {
	case configs.BackendLocal:
		res, err = train.RunLocal(cmd.Context(), r.cfg, opts, started)
	case configs.BackendMPI:
		comm, merr := parallel.NewMPI(parallel.MPIOptions{Timeout: train.Timeout(r.cfg)})
		if merr != nil {
			return fmt.Errorf("%s: parallel.backend=mpi: %w", r.command, merr)
		}
		defer comm.Close()
		shareCores(os.Getenv)
		if comm.Size() != p.WorldSize {
			return fmt.Errorf("%s: parallel.backend=mpi: the MPI job has %d processes but parallel.world_size = %d; launch with mpirun -np %d (or srun --mpi=pmix -n %d), or set parallel.world_size=%d",
				r.command, comm.Size(), p.WorldSize, p.WorldSize, p.WorldSize, comm.Size())
		}
		rank = comm.Rank()
		res, err = train.RunRank(cmd.Context(), comm, r.cfg, opts, started)
	default:
		return fmt.Errorf("%s: parallel.backend %q is not one this build runs", r.command, p.Backend)
	}
	if err != nil {
		return r.explain(err)
	}
	if rank != 0 || nothingToDo {
		return nil
	}
	return r.report(w, res)
}

// rankModels returns the model of each local rank when the run starts from
// a given model (rank 0 trains r.model itself, the others copies of it), and
// nil when every rank builds its own. A LoRA model or one with frozen
// parameters is refused: such runs train on one rank.
func (r trainRun) rankModels() ([]*layers.Model, error) {
	if r.model == nil {
		return nil, nil
	}
	if _, lora := r.model.AttachedLoRA(); lora || r.model.NumTrainable() < r.model.NumParams() {
		return nil, fmt.Errorf("%s: LoRA adapters and frozen parameters train on one rank in this version; use --set parallel.world_size=1", r.command)
	}
	if r.cfg.Parallel.Backend != configs.BackendLocal {
		return nil, nil // each process loaded its own
	}
	models := []*layers.Model{r.model}
	for range r.cfg.Parallel.WorldSize - 1 {
		m, err := train.NewModel(r.cfg)
		if err != nil {
			return nil, err
		}
		if err := train.SetModelTensors(m, train.ModelTensors(r.model), "the starting model"); err != nil {
			return nil, fmt.Errorf("%s: copying the starting model for each rank: %w", r.command, err)
		}
		models = append(models, m)
	}
	return models, nil
}

// shareCores gives this rank of an MPI job its share of the machine when
// the launcher left it free to run anywhere (mpirun --bind-to none, or more
// ranks than its binding policy covers) and GOMAXPROCS is not set: each of
// the job's L ranks on this machine (OMPI_COMM_WORLD_LOCAL_SIZE) runs its Go
// scheduler and GEMM goroutines on CPUs/L cores, instead of every rank on
// all of them. A rank the launcher bound already has GOMAXPROCS from its
// binding, which is kept. It returns the cores this rank uses.
func shareCores(getenv func(string) string) int {
	cpus := runtime.GOMAXPROCS(0)
	local, err := strconv.Atoi(getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
	if getenv("GOMAXPROCS") != "" || err != nil || local <= 1 || cpus < runtime.NumCPU() {
		return cpus
	}
	n := max(1, cpus/local)
	runtime.GOMAXPROCS(n)
	return n
}

// coresLine says how many cores each rank computes on.
func coresLine(p configs.ParallelConfig) string {
	if p.Backend == configs.BackendLocal {
		return fmt.Sprintf("%d of this process's %d cores per rank", max(1, runtime.GOMAXPROCS(0)/p.WorldSize), runtime.GOMAXPROCS(0))
	}
	return fmt.Sprintf("%d cores on rank 0", runtime.GOMAXPROCS(0))
}
