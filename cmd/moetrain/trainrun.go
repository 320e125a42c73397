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
	batches       train.Batches
	val           train.EvalSet // nil: no evaluation
	entropy       float64       // the data's unigram entropy, for the last line; 0: not known
	out           string
	resume, force bool
	model         *layers.Model               // nil: a fresh model from cfg
	optState      map[string]*autograd.Tensor // nil: a fresh optimizer
	extras        func(stepDir string) error  // further files in every checkpoint (a LoRA adapter)
}

// withData sets the run's batches, evaluation windows and entropy from
// pretraining data.
func (r trainRun) withData(ds *train.Data) trainRun {
	r.batches, r.val, r.entropy = ds.TrainBatches(r.cfg), ds.EvalSet(r.cfg), ds.UnigramEntropy
	return r
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
	if err := train.CheckMemory(r.cfg, train.MemoryUse{Frozen: r.extras != nil, Loaded: r.model != nil}); err != nil {
		return fmt.Errorf("%s: %w", r.command, err)
	}
	tr, err := train.New(train.Options{
		Config: r.cfg, RunDir: r.out, Resume: r.resume, Force: r.force, Log: w,
		Train: r.batches, Val: r.val, Model: r.model, OptimizerState: r.optState,
		CheckpointExtras: r.extras,
	})
	var inUse *train.RunDirInUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("%s: %w; continue it with --resume, start over in it with --force (deletes its checkpoints and metrics), or pass another --out", r.command, err)
	}
	if err != nil {
		return err
	}
	m := tr.Model()
	fmt.Fprintf(w, "model: %d layers (%d MoE), %s parameters; run dir %s\n",
		r.cfg.Model.NLayers, r.cfg.NumMoELayers(), humanCount(m.NumParams()), r.out)
	if r.resume {
		fmt.Fprintf(w, "resuming at step %d of %d\n", tr.StepsDone(), r.cfg.Train.Steps)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if res.Interrupted {
		fmt.Fprintf(w, "interrupted at step %d; saved %s; continue with --resume\n", res.Steps, res.Checkpoint)
		return nil
	}
	fmt.Fprintf(w, "done: %d steps, %s tokens", res.Steps, humanCount(int(res.Tokens)))
	if res.Steps > 0 {
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
