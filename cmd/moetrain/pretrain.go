package main

import (
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newPretrainCommand) }

func newPretrainCommand() *cobra.Command {
	var cf configFlags
	var out string
	var resume resumeMode
	var force bool
	var initFrom string
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Train an MoE transformer from scratch",
		Long: `Train a hybrid dense/sparse MoE transformer from scratch.

Without --data it trains on the embedded corpus. Checkpoints go to OUT/checkpoints/step-XXXXXXXX,
metrics to OUT/metrics.jsonl. --init-from starts from another run's weights (or an HF model's)
instead of a random initialisation: weights only, with a fresh optimizer and schedule. Ctrl-C saves a checkpoint and exits; --resume continues from it.
A run directory that already holds a run is refused unless --resume continues it or --force
starts over in it (deleting its checkpoints and metrics).`,
		Example: `  moetrain pretrain --config tiny
  moetrain pretrain --config small --data corpus.txt --out runs/small --set train.steps=2000
  moetrain pretrain --config runs/small/config.yaml --resume --out runs/small
  moetrain pretrain --config dense --init-from runs/dense --out runs/dense-more --set train.steps=500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(setFlags(cmd, map[string]string{"data": "data.path"}))
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", filepath.Base(trimYAML(cf.ref)))
			}
			if err := validateRunFlags("pretrain", out, resume.on(), force); err != nil {
				return err
			}
			if initFrom != "" && resume.on() {
				return fmt.Errorf("pretrain: --init-from starts a new run from %s's weights and --resume continues the run in %s: pass one of them", initFrom, out)
			}
			from, err := resumeSource("pretrain", out, resume, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			run := trainRun{command: "pretrain", cfg: cfg, out: out, resume: resume.on(), resumeFrom: from, force: force}
			if initFrom != "" {
				if run.model, err = initModel(cfg, initFrom); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "init: weights from %s (fresh optimizer, step 0, new schedule)\n", initFrom)
			}
			ds, err := loadTrainingData(cmd.OutOrStdout(), cfg)
			if err != nil {
				return err
			}
			return run.withData(ds).execute(cmd)
		},
	}
	cf.add(cmd, "tiny")
	cmd.Flags().String("data", "", "training data: a file, directory or glob (text, JSONL, Parquet, Arrow IPC, shards); default: the embedded corpus")
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory (default runs/<config name>)")
	addResumeFlag(cmd, &resume, "continue from OUT/checkpoints/latest")
	cmd.Flags().StringVar(&initFrom, "init-from", "", "start from the weights of this checkpoint or HuggingFace directory (same model shape; fresh optimizer, step 0)")
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

func humanCount(n int) string { return train.HumanCount(int64(n)) }

// initModel builds cfg's model and loads the weights of the checkpoint or HF
// directory at path into it, strictly: a tensor missing, extra or of another
// shape is an error naming it, and the model must be of cfg's architecture.
func initModel(cfg *configs.Config, path string) (*layers.Model, error) {
	_, src, _, err := train.OpenModel(path)
	if err != nil {
		return nil, fmt.Errorf("--init-from: %w", err)
	}
	m, err := train.NewModel(cfg)
	if err != nil {
		return nil, err
	}
	if err := train.SetModelTensors(m, train.ModelTensors(src), path); err != nil {
		return nil, fmt.Errorf("--init-from: the configuration's model does not fit the checkpoint's: %w; use the checkpoint's model.* and moe.* settings", err)
	}
	return m, nil
}
