package main

import (
	"fmt"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

// loadModelAdapted loads the checkpoint and, when adapter is set, attaches
// the PEFT adapter in that directory to it: what eval and generate run.
func loadModelAdapted(command, ckpt, adapter string) (*configs.Config, *layers.Model, error) {
	cfg, m, _, err := train.LoadModel(ckpt)
	if err != nil {
		return nil, nil, err
	}
	if adapter == "" {
		return cfg, m, nil
	}
	if _, has := m.AttachedLoRA(); has {
		return nil, nil, fmt.Errorf("%s: %s already holds LoRA adapters (a LoRA run's checkpoint): drop --adapter, or pass the base model's checkpoint", command, ckpt)
	}
	if _, err := train.AttachAdapter(m, adapter); err != nil {
		return nil, nil, fmt.Errorf("%s: --adapter: %w", command, err)
	}
	return cfg, m, nil
}

// addAdapterFlag adds --adapter DIR.
func addAdapterFlag(cmd *cobra.Command, adapter *string) {
	cmd.Flags().StringVar(adapter, "adapter", "", "a LoRA adapter directory in PEFT's layout (finetune --lora writes OUT/adapter) to apply to the checkpoint")
}

func init() { extraCommands = append(extraCommands, newMergeCommand) }

func newMergeCommand() *cobra.Command {
	var ckpt, adapter, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "merge",
		Short: "Fold a LoRA adapter into the weights: W + s·B·A",
		Long: `Merge a LoRA adapter into its base model and write the result as step 0 of the run directory
OUT: a plain checkpoint that eval, generate, export (to HuggingFace) and finetune read like any
other. --ckpt is the base model and --adapter the PEFT adapter directory, or --ckpt alone is a LoRA
fine-tuning run, whose checkpoints hold their adapters.`,
		Example: `  moetrain merge --ckpt runs/tiny --adapter runs/task-lora/adapter --out runs/task-merged
  moetrain merge --ckpt runs/task-lora --out runs/task-merged
  moetrain export --ckpt runs/task-merged --out hf/task-merged`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, m, err := loadModelAdapted("merge", ckpt, adapter)
			if err != nil {
				return err
			}
			if _, has := m.AttachedLoRA(); !has {
				return fmt.Errorf("merge: %s has no LoRA adapters: pass --adapter DIR (a PEFT adapter directory)", ckpt)
			}
			if err := train.ClaimRunDir(out, force); err != nil {
				return fmt.Errorf("merge: %w; pass another --out, or --force to delete its checkpoints and metrics first", err)
			}
			if err := m.MergeLoRA(); err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			dir, err := train.NewInference(cfg, m).Save(out)
			if err != nil {
				return fmt.Errorf("merge: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged into %s\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&ckpt, "ckpt", "", "the base checkpoint (or a LoRA fine-tuning run)")
	addAdapterFlag(cmd, &adapter)
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory to write the merged model into, as step 0")
	cmd.Flags().BoolVar(&force, "force", false, "merge into an OUT that already holds a run, deleting its checkpoints and metrics first")
	cmd.MarkFlagRequired("ckpt")
	cmd.MarkFlagRequired("out")
	return cmd
}
