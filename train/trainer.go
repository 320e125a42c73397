package train

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
)

// Batches yields training batches and can save and restore its position, so
// that a resumed run sees exactly the batches an uninterrupted one would.
type Batches interface {
	// Next returns inputs and targets, [B*T] each (B sequences of T tokens),
	// valid until the next call.
	Next() (inputs, targets []int32)
	// State returns the position as JSON.
	State() ([]byte, error)
	// Restore continues from a State.
	Restore(state []byte) error
}

// EvalSet yields the validation windows in a fixed order.
type EvalSet interface {
	// Windows returns up to n batches of inputs and targets, [B*T] each,
	// always the same ones.
	Windows(n int) (inputs, targets [][]int32)
}

// Options configure a training run.
type Options struct {
	Config *configs.Config
	RunDir string
	Train  Batches
	Val    EvalSet // nil: no evaluation
	Resume bool    // continue from RUN_DIR/checkpoints/latest
	Force  bool    // a fresh run in a RUN_DIR holding a run deletes it first; else New refuses
	Log    io.Writer
	TTY    *bool // force the progress bar on or off; nil detects
	// ResumeFrom, when Resume is set, is the step directory to continue
	// from (one that checkpoint.NewestVerified chose, say); "" resolves
	// RUN_DIR's latest checkpoint.
	ResumeFrom string
	// Model, when set, is trained instead of a freshly initialised one
	// (a model the caller built or loaded). Only its trainable parameters
	// are trained: freeze (Model.Freeze) before New.
	Model *layers.Model
	// OptimizerState, when set, is the AdamW state a fresh run starts from
	// (optim's State/LoadState form: exp_avg.<name>, exp_avg_sq.<name> for
	// every trainable parameter and the step count), e.g. moments carried
	// over from the model an upcycled one came from. Its step count drives
	// AdamW's bias correction only: the learning-rate schedule still starts
	// at step 0. Ignored when resuming (the checkpoint has its own).
	OptimizerState map[string]*autograd.Tensor
	// CheckpointExtras, when set, writes further files into every
	// checkpoint's step directory before it becomes visible (the LoRA
	// adapter in PEFT's layout); see checkpoint.Checkpoint.Extras.
	CheckpointExtras func(stepDir string) error
	// Engine runs the run's kernels (its cores, scratch and GEMM
	// accounting); nil uses autograd.DefaultEngine. Ranks running as
	// goroutines and trainers sharing a process each pass their own.
	Engine *autograd.Engine
	// OnStep, when set, is called after every optimizer step (and its
	// logging and checkpoint) with the number of steps done.
	OnStep func(step int)
	// Parallel, when set, makes this trainer one rank of a multi-rank run
	// (see Parallel). Every rank passes the same Config and its own Train
	// batches from the same sampler; each trains its share of every step.
	// Rank 0 alone logs, writes metrics and checkpoints; every rank resumes
	// from the same run directory. Model must be nil: each rank builds the
	// configured model and keeps its expert shard.
	Parallel *Parallel
}

// Trainer owns a run's model, optimizer and state.
type Trainer struct {
	cfg          *configs.Config
	opts         Options
	model        *layers.Model
	params       []*autograd.Tensor // the trainable ones: what AdamW, the gradient norm and ZeroGrad see
	opt          *optim.AdamW
	sched        optim.Schedule
	tape         *autograd.Tape
	evalTape     *autograd.Tape // no-grad, reused by every evaluation
	pcg          *rand.PCG      // training randomness (router noise and jitter); checkpointed
	fwdOpts      layers.ForwardOptions
	lossCfg      layers.LossConfig
	batches      Batches
	moeLayers    []int
	step         int               // optimizer steps completed (including skipped ones)
	tokens       int64             // tokens trained on
	skipped      int               // skipped steps so far
	badRun       int               // consecutive skipped steps
	lastSaved    int               // step of the newest checkpoint written or restored
	blobs        map[string][]byte // files every checkpoint stores beside its tensors (the tokenizer)
	optStepBase  int               // AdamW's step count when this run began (carried optimizer state); the schedule counts from it
	lastSavedDir string
	// seen is what Progress reports: the steps done and the newest
	// checkpoint's step, published by Run for readers on other goroutines
	// (a signal handler saying what quitting abandons).
	seen struct{ done, saved atomic.Int64 }
	// stopMu orders Stop against the start of each step, so that Stop knows
	// whether a step is running (and will finish) or the run stops now.
	stopMu          sync.Mutex
	stopReq, inStep bool
	// wrapMetrics, when set, wraps the metrics file's writer (tests inject
	// write failures through it).
	wrapMetrics func(io.Writer) io.Writer
	// A multi-rank run's state (nil and empty in a one-rank run): this
	// rank's groups, its trainable parameters split into the replicated
	// ones and its expert shard, and the buffers of the step's reductions.
	par                     *Parallel
	replicated, expertShard []*autograd.Tensor
	figures, bucket         []float32
	one                     [1]float32                  // scalar's buffer
	dispatchers             []commTimer                 // the MoE layers' expert-parallel dispatchers
	dispatchSeen            time.Duration               // their communication time already counted
	pending                 *pendingSave                // the asynchronous save in flight (train.async_save)
	saveBlocked             time.Duration               // how long the last save held up training
	snapshots               map[string]*autograd.Tensor // asynchronous saves' copies, reused
}

// MaxBadSteps is how many consecutive non-finite steps stop a run.
const MaxBadSteps = 5

// New prepares a run: builds (or takes) the model and optimizer and, when
// resuming, restores every piece of state from the latest checkpoint.
func New(opts Options) (*Trainer, error) {
	c := opts.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := checkSupported(c); err != nil {
		return nil, err
	}
	if opts.Log == nil || opts.Parallel != nil && opts.Parallel.World.Rank() != 0 {
		opts.Log = io.Discard // rank 0 speaks for a multi-rank run
	}
	eng := opts.Engine
	if eng == nil {
		eng = autograd.DefaultEngine()
	}
	m := opts.Model
	if m == nil {
		var err error
		if m, err = NewModel(c); err != nil {
			return nil, err
		}
	}
	t := &Trainer{cfg: c, opts: opts, model: m, params: m.Trainable(), tape: autograd.NewTapeOn(eng), evalTape: autograd.NewNoGradTapeOn(eng), batches: opts.Train,
		lossCfg: LossConfig(c), lastSaved: -1}
	t.pcg = rand.NewPCG(uint64(c.Train.Seed), 0x747261696e)
	t.fwdOpts = layers.ForwardOptions{Training: true, RNG: rand.New(t.pcg)}
	for i, blk := range m.Blocks {
		if blk.MoE != nil {
			t.moeLayers = append(t.moeLayers, i)
		}
	}
	if err := t.joinRanks(opts.Parallel); err != nil {
		return nil, err
	}
	if len(t.params) == 0 {
		return nil, fmt.Errorf("model: all %d parameters are frozen, nothing to train; unfreeze some (layers.Model.Unfreeze)", len(m.Params()))
	}
	ac := AdamWConfig(c)
	var err error
	if t.blobs, err = tokenizerBlobs(c); err != nil {
		return nil, err
	}
	if t.opt, err = optim.NewAdamWOn(eng, t.params, ac); err != nil {
		return nil, fmt.Errorf("optimizer: %w", err)
	}
	var note string
	if t.sched, note = LRSchedule(c); note != "" {
		fmt.Fprintln(opts.Log, note) // once per run, before the first step
	}
	if err := t.sched.Validate(); err != nil && c.Train.Steps > 0 {
		return nil, err // already "schedule: ..."; a run of 0 steps only saves its model
	}
	if opts.OptimizerState != nil && !opts.Resume {
		st := opts.OptimizerState
		if t.expertParallel() { // the caller's whole-model state, shared by every rank: slice a copy
			st = maps.Clone(st)
			t.sliceExperts(st)
		}
		if err := t.opt.LoadState(st); err != nil {
			return nil, fmt.Errorf("optimizer state to start from: %w", err)
		}
		t.optStepBase = t.opt.Steps()
	}
	if t.rank() == 0 { // the other ranks of a multi-rank run only read it, when resuming
		if !opts.Resume {
			if err := ClaimRunDir(opts.RunDir, opts.Force); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
			return nil, fmt.Errorf("run dir: %w", err)
		}
	}
	if opts.Resume {
		if err := t.restore(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Model returns the model being trained.
func (t *Trainer) Model() *layers.Model { return t.model }

// scheduleStep is the step the learning-rate schedule is at: the optimizer
// updates this run has applied (a carried optimizer state brings its own
// step count for AdamW's bias correction, which the schedule does not see).
func (t *Trainer) scheduleStep() int { return t.opt.Steps() - t.optStepBase }

// StepsDone returns the number of optimizer steps completed.
func (t *Trainer) StepsDone() int { return t.step }

// Progress returns, safely from any goroutine while Run trains, the
// optimizer steps completed and the step of the newest checkpoint written
// or restored (-1: none yet).
func (t *Trainer) Progress() (done, saved int) {
	return int(t.seen.done.Load()), int(t.seen.saved.Load())
}

// Stop asks Run to stop at the next step boundary, as cancelling its
// context does, from any goroutine, and returns the step it will stop after:
// the one running, or the last one done when none is.
func (t *Trainer) Stop() int {
	t.stopMu.Lock()
	defer t.stopMu.Unlock()
	t.stopReq = true
	done := int(t.seen.done.Load())
	if t.inStep {
		return done + 1
	}
	return done
}

// beginStep reports whether the next step may start (no Stop, ctx not
// cancelled) and, if so, marks it running.
func (t *Trainer) beginStep(ctx context.Context) bool {
	t.stopMu.Lock()
	defer t.stopMu.Unlock()
	if t.stopReq || ctx.Err() != nil {
		return false
	}
	t.inStep = true
	return true
}

// endStep marks the step done and publishes the counters.
func (t *Trainer) endStep() {
	t.stopMu.Lock()
	defer t.stopMu.Unlock()
	t.inStep = false
	t.publish()
}

// publish makes the step counters visible to Progress.
func (t *Trainer) publish() {
	t.seen.done.Store(int64(t.step))
	t.seen.saved.Store(int64(t.lastSaved))
}

// Result summarises a finished run.
type Result struct {
	Steps       int
	Tokens      int64
	FinalLoss   float64 // mean training loss over the last logged interval (NaN if this run logged none)
	ValLoss     float64 // last evaluation (NaN if none)
	Skipped     int
	Interrupted bool // stopped by the context or Stop (SIGINT/SIGTERM) after saving
	Checkpoint  string
}

// Run trains until train.steps, the context is cancelled (it then saves a
// checkpoint and returns cleanly), or too many consecutive steps go
// non-finite. A metrics line that cannot be written stops the run after a
// checkpoint of the current step is tried, so no trained step is lost to a
// full disk that still has room for the checkpoint.
func (t *Trainer) Run(ctx context.Context) (*Result, error) {
	c := t.cfg.Train
	t.publish()
	metrics, err := t.openMetrics()
	if err != nil {
		return nil, err
	}
	if t.wrapMetrics != nil {
		metrics.w.Reset(t.wrapMetrics(metrics.f))
	}
	defer metrics.Close()
	prog := NewProgress(t.opts.Log, c.Steps, t.opts.TTY)
	defer prog.Done()
	res := &Result{ValLoss: math.NaN(), FinalLoss: math.NaN()}
	start := time.Now()
	startStep := t.step
	window := newLogWindow()
	for t.step < c.Steps {
		stop, err := t.agreeStop(!t.beginStep(ctx))
		if err != nil {
			return nil, err
		}
		if stop {
			t.endStep() // a step this rank began but the others stop before
			res.Interrupted = true
			break
		}
		sr, err := t.step1()
		t.endStep()
		if err != nil {
			return nil, err
		}
		if err := t.guard(sr, prog); err != nil {
			return nil, err
		}
		window.add(sr)
		evalNow := c.EvalEvery > 0 && t.opts.Val != nil && t.step%c.EvalEvery == 0
		if t.step%c.LogEvery == 0 || t.step == c.Steps || evalNow {
			if rec := window.record(t, sr.LR, start); rec != nil {
				res.FinalLoss = rec.Loss
				if evalNow {
					ev, err := t.evaluate()
					if err != nil {
						return nil, fmt.Errorf("evaluation at step %d: %w", t.step, err)
					}
					rec.ValLoss, rec.ValPPL = &ev.Loss, &ev.PPL
					res.ValLoss = ev.Loss
				}
				if err := metrics.Write(rec); err != nil {
					return nil, t.saveAfterMetricsError(err, prog)
				}
				done := t.step - startStep
				eta := time.Duration(float64(time.Since(start)) / float64(max(done, 1)) * float64(c.Steps-t.step))
				prog.Update(rec, eta)
				if rec.ValLoss != nil {
					prog.Message("step %d: val loss %.4f ppl %.2f", t.step, *rec.ValLoss, *rec.ValPPL)
				}
			}
			window = newLogWindow()
		}
		if c.CheckpointEvery > 0 && t.step%c.CheckpointEvery == 0 && t.step < c.Steps && t.badRun == 0 {
			dir, err := t.save(false)
			if err != nil {
				return nil, err
			}
			t.publish()
			how := "written"
			if t.pending != nil {
				how = "snapshot taken; writing in the background"
			}
			prog.Message("step %d: checkpoint %s %s, training held %.0f ms", t.step, filepath.Base(dir), how, t.saveBlocked.Seconds()*1000)
		}
		if t.opts.OnStep != nil {
			t.opts.OnStep(t.step)
		}
	}
	if err := t.waitSave(); err != nil {
		return nil, err
	}
	res.Checkpoint = t.lastSavedDir
	if t.badRun == 0 && t.step != t.lastSaved {
		dir, err := t.save(true)
		if err != nil {
			return nil, err
		}
		res.Checkpoint = dir
		t.publish()
		prog.Message("saved %s", dir)
	}
	res.Steps, res.Tokens, res.Skipped = t.step, t.tokens, t.skipped
	return res, nil
}

// saveAfterMetricsError tries to checkpoint the current step after the
// metrics log failed with werr, and returns the error that ends the run:
// werr (which names the file) with what became of the trained steps.
func (t *Trainer) saveAfterMetricsError(werr error, prog *Progress) error {
	if t.badRun > 0 || t.step == t.lastSaved {
		return fmt.Errorf("%w; training stopped at step %d; the last checkpoint (step %d) is kept: make room and continue with --resume", werr, t.step, t.lastSaved)
	}
	dir, err := t.save(true)
	if err != nil {
		return fmt.Errorf("%w; training stopped at step %d, and saving a checkpoint failed too (%v): %s; make room and continue with --resume", werr, t.step, err, lostSince(t.lastSaved))
	}
	t.publish()
	prog.Message("saved %s", dir)
	return fmt.Errorf("%w; training stopped at step %d after saving %s: make room and continue with --resume", werr, t.step, dir)
}

// lostSince says what a run loses when it stops without saving, given the
// step of its newest checkpoint (-1: none).
func lostSince(saved int) string {
	if saved < 0 {
		return "no checkpoint exists yet, so every step of this run is lost"
	}
	return fmt.Sprintf("the steps after step %d, the last checkpoint, are lost", saved)
}

// guard counts a skipped (non-finite) step and stops the run after
// MaxBadSteps in a row; an applied step ends the bad run.
func (t *Trainer) guard(sr *StepResult, prog *Progress) error {
	if sr.Empty { // no trained target: neither applied nor non-finite
		prog.Message("step %d: no trained target in its %d micro-batches; nothing applied", t.step, t.cfg.AccumSteps()*t.worldSize())
		return nil
	}
	if !sr.Skipped {
		t.badRun = 0
		return nil
	}
	t.skipped++
	t.badRun++
	prog.Message("step %d skipped: non-finite %s", t.step, sr.BadTensor)
	if t.badRun >= MaxBadSteps {
		return fmt.Errorf("training stopped at step %d: %d consecutive steps were non-finite; first non-finite tensor: %s; the last good checkpoint is kept in %s (lower train.lr or set train.grad_clip)",
			t.step, t.badRun, sr.BadTensor, t.opts.RunDir)
	}
	return nil
}

// step1 runs one optimizer step and advances the counters.
func (t *Trainer) step1() (*StepResult, error) {
	sr, err := t.runStepRecovering()
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", t.step+1, err)
	}
	t.step++
	t.tokens += int64(sr.Tokens)
	return sr, nil
}

// loadFractions turns per-layer expert counts into fractions of each layer's
// kept slots, and returns the worst max/mean load ratio.
func loadFractions(load [][]int) ([][]float64, float64) {
	if load == nil {
		return nil, 0
	}
	out := make([][]float64, len(load))
	worst := 0.0
	for l, counts := range load {
		total, most := 0, 0
		for _, v := range counts {
			total += v
			most = max(most, v)
		}
		out[l] = make([]float64, len(counts))
		for e, v := range counts {
			if total > 0 {
				out[l][e] = float64(v) / float64(total)
			}
		}
		if total > 0 {
			worst = max(worst, float64(most)*float64(len(counts))/float64(total))
		}
	}
	return out, worst
}
