package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newPretrainCommand) }

func newPretrainCommand() *cobra.Command {
	var cf configFlags
	var out string
	var resume, force bool
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Train an MoE transformer from scratch",
		Long: `Train a hybrid dense/sparse MoE transformer from scratch.

Without --data it trains on the embedded corpus. Checkpoints go to OUT/checkpoints/step-XXXXXXXX,
metrics to OUT/metrics.jsonl. Ctrl-C saves a checkpoint and exits; --resume continues from it.
A run directory that already holds a run is refused unless --resume continues it or --force
starts over in it (deleting its checkpoints and metrics).`,
		Example: `  moetrain pretrain --config tiny
  moetrain pretrain --config small --data corpus.txt --out runs/small --set train.steps=2000
  moetrain pretrain --config runs/small/config.yaml --resume --out runs/small`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(setFlags(cmd, map[string]string{"data": "data.path"}))
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", filepath.Base(trimYAML(cf.ref)))
			}
			if resume && force {
				return fmt.Errorf("pretrain: --resume continues the run in %s and --force deletes it: pass one of them", out)
			}
			w := cmd.OutOrStdout()
			ds, err := train.LoadData(cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "data: %s, %d tokens (train %d, val %d), tokenizer %s, unigram entropy %.3f nats/token\n",
				ds.Source, len(ds.Dataset.Tokens()), ds.Dataset.TrainTokens(), ds.Dataset.ValTokens(), ds.Tokenizer.Name(), ds.UnigramEntropy)
			if err := checkBatchFits(cfg, ds); err != nil {
				return err
			}
			tr, err := train.New(train.Options{
				Config: cfg, RunDir: out, Resume: resume, Force: force, Log: w,
				Train: ds.TrainBatches(cfg), Val: ds.EvalSet(cfg),
			})
			var inUse *train.RunDirInUseError
			if errors.As(err, &inUse) {
				return fmt.Errorf("pretrain: %w; continue it with --resume, start over in it with --force (deletes its checkpoints and metrics), or pass another --out", err)
			}
			if err != nil {
				return err
			}
			m := tr.Model()
			fmt.Fprintf(w, "model: %d layers (%d MoE), %s parameters; run dir %s\n",
				cfg.Model.NLayers, cfg.NumMoELayers(), humanCount(m.NumParams()), out)
			if resume {
				fmt.Fprintf(w, "resuming at step %d of %d\n", tr.StepsDone(), cfg.Train.Steps)
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
			fmt.Fprintf(w, "done: %d steps, %s tokens, final loss %.4f nats (unigram entropy %.3f)", res.Steps, humanCount(int(res.Tokens)), res.FinalLoss, ds.UnigramEntropy)
			if !math.IsNaN(res.ValLoss) {
				fmt.Fprintf(w, ", val loss %.4f", res.ValLoss)
			}
			fmt.Fprintf(w, "\ncheckpoint: %s\n", res.Checkpoint)
			return nil
		},
	}
	cf.add(cmd, "tiny")
	cmd.Flags().String("data", "", "training data: a file, directory or glob (text, JSONL, Parquet, Arrow IPC, shards); default: the embedded corpus")
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default runs/<config name>)")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue from OUT/checkpoints/latest")
	cmd.Flags().BoolVar(&force, "force", false, "start over in an OUT that already holds a run, deleting its checkpoints and metrics")
	return cmd
}

func trimYAML(ref string) string {
	for _, ext := range []string{".yaml", ".yml"} {
		if len(ref) > len(ext) && ref[len(ref)-len(ext):] == ext {
			return ref[:len(ref)-len(ext)]
		}
	}
	return ref
}

func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
