package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

// loadTrainingData loads cfg's data, prints its summary line and checks that
// a micro-batch fits it: the first thing every training command does.
func loadTrainingData(w io.Writer, cfg *configs.Config) (*train.Data, error) {
	ds, err := train.LoadData(cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "data: %s, %d tokens (train %d, val %d), tokenizer %s, unigram entropy %.3f nats/token\n",
		ds.Source, len(ds.Dataset.Tokens()), ds.Dataset.TrainTokens(), ds.Dataset.ValTokens(), ds.Tokenizer.Name(), ds.UnigramEntropy)
	if err := checkBatchFits(cfg, ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// trainRun is one training command's run: pretrain, upcycle, finetune.
type trainRun struct {
	command       string // for messages: "pretrain"
	cfg           *configs.Config
	batches       func() train.Batches // each rank's own, from the same sampler
	val           train.EvalSet        // nil: no evaluation
	entropy       float64              // the data's unigram entropy, for the last line; 0: not known
	out           string
	resume, force bool
	resumeFrom    string                      // the step directory to resume from; "": the latest
	model         *layers.Model               // nil: a fresh model from cfg
	optState      map[string]*autograd.Tensor // nil: a fresh optimizer
	extras        func(stepDir string) error  // further files in every checkpoint (a LoRA adapter)
}

// withData sets the run's batches, evaluation windows and entropy from
// pretraining data.
func (r trainRun) withData(ds *train.Data) trainRun {
	r.batches = func() train.Batches { return ds.TrainBatches(r.cfg) }
	r.val, r.entropy = ds.EvalSet(r.cfg), ds.UnigramEntropy
	return r
}

// refuseUsedOut refuses, before any work, an --out that holds a run when
// --force was not given (without force ClaimRunDir only looks).
func refuseUsedOut(command, out string, force bool) error {
	if force {
		return nil
	}
	if err := train.ClaimRunDir(out, false); err != nil {
		return fmt.Errorf("%s: %w; pass another --out, --force to start over in it (deletes its checkpoints and metrics), or --resume to continue it", command, err)
	}
	return nil
}

// validateRunFlags refuses --resume with --force.
func validateRunFlags(command, out string, resume, force bool) error {
	if resume && force {
		return fmt.Errorf("%s: --resume continues the run in %s and --force deletes it: pass one of them", command, out)
	}
	return nil
}

// execute trains: builds the trainer (claiming or resuming the run dir),
// prints the model line, runs until train.steps or Ctrl-C, and prints the
// result. Every training command ends here, so they share progress,
// metrics, checkpoints, resume and interruption.
func (r trainRun) execute(cmd *cobra.Command) error {
	w := cmd.OutOrStdout()
	frozen := r.model != nil && r.model.NumTrainable() < r.model.NumParams()
	if err := train.CheckMemory(r.cfg, train.MemoryUse{Frozen: frozen, Loaded: r.model != nil}); err != nil {
		return fmt.Errorf("%s: %w", r.command, err)
	}
	if r.cfg.Parallel.WorldSize > 1 || r.cfg.Parallel.Backend != configs.BackendLocal {
		return r.executeRanks(cmd)
	}
	tr, err := train.New(r.options(w, r.model))
	if err != nil {
		return r.explain(err)
	}
	if r.started(w, tr) {
		return nil
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	go watchSignals(sigs, finished, newTrainers(tr), r.cfg.Train.Steps, cmd.ErrOrStderr())
	res, err := tr.Run(cmd.Context())
	if err != nil {
		return err
	}
	return r.report(w, res)
}

// options returns the trainer options of a rank training m (nil: a fresh
// model from the configuration), logging to w.
func (r trainRun) options(w io.Writer, m *layers.Model) train.Options {
	return train.Options{
		Config: r.cfg, RunDir: r.out, Resume: r.resume, ResumeFrom: r.resumeFrom, Force: r.force, Log: w,
		Train: r.batches(), Val: r.val, Model: m, OptimizerState: r.optState,
		CheckpointExtras: r.extras,
	}
}

// explain adds what to do to the run directory's refusal.
func (r trainRun) explain(err error) error {
	var inUse *train.RunDirInUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("%s: %w; continue it with --resume, start over in it with --force (deletes its checkpoints and metrics), or pass another --out", r.command, err)
	}
	return err
}

// started prints the model line, and where a resumed run stands, once the
// trainer (rank 0's in a multi-rank run) is built, and reports whether the
// resumed run is already done (saying so).
func (r trainRun) started(w io.Writer, tr *train.Trainer) (done bool) {
	m := tr.Model()
	params := humanCount(m.NumParams()) + " parameters"
	if ep := r.cfg.Parallel.ExpertParallel; ep > 1 { // this rank holds 1/ep of the experts
		shard := 0
		for _, blk := range m.Blocks {
			if blk.MoE != nil {
				for _, p := range blk.MoE.Experts.Params() {
					shard += p.Len()
				}
			}
		}
		params = fmt.Sprintf("%s parameters (%s on each rank: the experts split over %d)", humanCount(m.NumParams()+(ep-1)*shard), humanCount(m.NumParams()), ep)
	}
	fmt.Fprintf(w, "model: %d layers (%d MoE), %s; run dir %s\n",
		r.cfg.Model.NLayers, r.cfg.NumMoELayers(), params, r.out)
	if !r.resume {
		return false
	}
	if done, steps := tr.StepsDone(), r.cfg.Train.Steps; done >= steps {
		fmt.Fprintf(w, "already at step %d of train.steps = %d; nothing to do (raise train.steps to train further, e.g. --set train.steps=%d)\n",
			done, steps, max(done, steps)*2)
		return true
	}
	fmt.Fprintf(w, "resuming at step %d of %d\n", tr.StepsDone(), r.cfg.Train.Steps)
	return false
}

// report prints how the run ended.
func (r trainRun) report(w io.Writer, res *train.Result) error {
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted at step %d; saved %s; continue with --resume\n", res.Steps, res.Checkpoint)
		return nil
	}
	fmt.Fprintf(w, "done: %d steps, %s tokens", res.Steps, humanCount(int(res.Tokens)))
	if !math.IsNaN(res.FinalLoss) {
		fmt.Fprintf(w, ", final loss %.4f nats", res.FinalLoss)
		if r.entropy > 0 {
			fmt.Fprintf(w, " (unigram entropy %.3f)", r.entropy)
		}
	}
	if !math.IsNaN(res.ValLoss) {
		fmt.Fprintf(w, ", val loss %.4f", res.ValLoss)
	}
	fmt.Fprintf(w, "\ncheckpoint: %s\n", res.Checkpoint)
	return nil
}

// watchSignals turns SIGINT and SIGTERM into a stop at the next step
// boundary: the first one stops the run (which then saves) and says so at
// once; a second one quits the process at once, without saving, after
// saying which steps that abandons (exit 128 + the signal's number: 130 for
// Ctrl-C, 143 for SIGTERM). It returns when finished is closed.
func watchSignals(sigs <-chan os.Signal, finished <-chan struct{}, tr *trainers, steps int, w io.Writer) {
	stopping := false
	for {
		select {
		case <-finished:
			return
		case sig := <-sigs:
			if !stopping {
				stopping = true
				after := tr.Stop()
				fmt.Fprintf(w, "\n%s: stopping after step %d and saving a checkpoint; Ctrl-C again to quit now without saving\n", signalName(sig), min(after, steps))
				continue
			}
			done, saved := tr.Progress()
			fmt.Fprintf(w, "%s again: quitting now without saving; %s\n", signalName(sig), abandoned(done, saved))
			code := 130
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			os.Exit(code)
		}
	}
}

// abandoned says what quitting without saving loses, given the steps done
// and the newest checkpoint's step (-1: none).
func abandoned(done, saved int) string {
	switch {
	case saved < 0 && done == 0:
		return "no step was trained yet, nothing is lost"
	case saved < 0:
		return fmt.Sprintf("no checkpoint exists yet: the %d steps done are abandoned", done)
	case done > saved:
		return fmt.Sprintf("abandoning steps %d to %d, trained since the last checkpoint (step %d)", saved+1, done, saved)
	}
	return fmt.Sprintf("nothing is lost: the last checkpoint (step %d) holds every step done", saved)
}

// signalName names a stop signal for messages.
func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "interrupt (Ctrl-C)"
	}
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return sig.String()
}
