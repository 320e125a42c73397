package main

import (
	"errors"
	"fmt"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newExportCommand, newImportCommand)
}

func newExportCommand() *cobra.Command {
	var ckpt, format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a checkpoint to HuggingFace's Mixtral layout (a dense model as Llama)",
		Long: `Write OUT/config.json (MixtralConfig keys) and OUT/model.safetensors with HuggingFace tensor names,
so that transformers' MixtralForCausalLM (LlamaForCausalLM for a dense model) computes the same logits.
Models Mixtral cannot express (hybrid stacks, shared experts, sigmoid routing, expert bias, capacity
dropping) are refused with the reason. An OUT inside a run or step directory, or holding config.json
or model.safetensors, is refused unless --force; the checkpoint being exported is never overwritten.`,
		Example: `  moetrain export --ckpt runs/tiny --format hf --out exported/tiny`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "hf" {
				return fmt.Errorf("export: --format %q: the only format is hf", format)
			}
			src, err := checkpoint.Resolve(ckpt)
			if err != nil {
				return err
			}
			if err := checkpoint.CheckExportDir(out, src, force); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			cfg, m, _, err := train.LoadModel(src)
			if err != nil {
				return err
			}
			if _, lora := m.AttachedLoRA(); lora {
				return fmt.Errorf("export: %s holds LoRA adapters, which the HF model layout has no place for: fold them in first (moetrain merge --ckpt %s --out MERGED), then export MERGED; the adapter itself is already in PEFT's layout in the run's adapter/ directory", ckpt, ckpt)
			}
			if err := checkpoint.ExportHF(out, cfg, train.ModelTensors(m)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s to %s\n", ckpt, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&ckpt, "ckpt", "", "checkpoint: a run dir, its checkpoints dir, or one step dir")
	cmd.Flags().StringVar(&format, "format", "hf", "output format (hf)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (not inside a run; refused if it holds config.json or model.safetensors)")
	cmd.Flags().BoolVar(&force, "force", false, "write OUT even inside a run directory or over its config.json and model.safetensors (never over the checkpoint being exported)")
	cmd.MarkFlagRequired("ckpt")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newImportCommand() *cobra.Command {
	var in, format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a HuggingFace Mixtral or Llama model as a moetrain checkpoint",
		Long: `Read a HuggingFace Mixtral or Llama directory and write it as step 0 of the run directory OUT
(weights and config, no optimizer state). An OUT that already holds a run is refused: its latest
checkpoint would become step 0 and it could no longer resume. --force deletes its checkpoints and
metrics first.`,
		Example: `  moetrain import --format hf --in exported/tiny --out runs/imported
  moetrain eval --ckpt runs/imported --data held_out.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "hf" {
				return fmt.Errorf("import: --format %q: the only format is hf", format)
			}
			err := train.ClaimRunDir(out, force)
			var inUse *train.RunDirInUseError
			if errors.As(err, &inUse) {
				return fmt.Errorf("import: %w; importing would make step 0 its latest checkpoint and it could no longer resume: pass another --out, or --force to delete its checkpoints and metrics first", err)
			}
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			dir, err := train.ImportHF(in, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s as %s\n", in, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "HuggingFace model directory (config.json, *.safetensors)")
	cmd.Flags().StringVar(&format, "format", "hf", "input format (hf)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory to write the checkpoint into")
	cmd.Flags().BoolVar(&force, "force", false, "import into an OUT that already holds a run, deleting its checkpoints and metrics first")
	cmd.MarkFlagRequired("in")
	cmd.MarkFlagRequired("out")
	return cmd
}
