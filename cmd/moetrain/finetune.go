package main

import (
	"cmp"
	"fmt"
	"io"
	"path/filepath"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newFinetuneCommand) }

// finetuneFlags are finetune's own flags.
type finetuneFlags struct {
	from, out, adapter string
	lora               bool
	resume             resumeMode
	force              bool
}

func newFinetuneCommand() *cobra.Command {
	var cf configFlags
	var f finetuneFlags
	cmd := &cobra.Command{
		Use:   "finetune",
		Short: "Fine-tune a trained model, fully or with LoRA adapters (experts included)",
		Long: `Fine-tune the model of a checkpoint on task data.

--from is any moetrain checkpoint (a run dir, its checkpoints dir or a step dir) or a HuggingFace
Llama/Mixtral directory. The configuration is the checkpoint's own with what --config and --set
change (train.*, lora.*; the model's shape stays the checkpoint's). --data is JSONL with
prompt/completion fields (the loss counts completion tokens only), Alpaca instruction/input/output,
or plain text (every token counts); documents are packed into train.seq_len windows and the loss of a
step is the mean over its trained tokens.

Without --lora every parameter trains, from the checkpoint's weights with a fresh optimizer and
schedule. With --lora the base weights are frozen and low-rank adapters train on the lora.targets
(attention q_proj,k_proj,v_proj,o_proj; every routed expert's w1,w2,w3; dense and shared-expert
gate_proj,up_proj,down_proj; the router's gate): the run prints what each target matched, and a
target that matches nothing is an error. The adapter is written in PEFT's layout to OUT/adapter and
into every checkpoint; --adapter continues training an existing one. Progress, metrics, checkpoints,
Ctrl-C and --resume work as in pretrain.`,
		Example: `  moetrain finetune --from runs/tiny --data task.jsonl --out runs/task-lora --lora
  moetrain finetune --from runs/tiny --data task.jsonl --out runs/task-full --set train.steps=200 --set train.lr=3e-4
  moetrain finetune --from runs/tiny --data task.jsonl --out runs/task-attn --lora --set lora.targets=q_proj,v_proj
  moetrain finetune --resume --out runs/task-lora --set train.steps=400`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateRunFlags("finetune", f.out, f.resume.on(), f.force); err != nil {
				return err
			}
			flags := setFlags(cmd, map[string]string{"data": "data.path"})
			if f.resume.on() {
				return resumeFinetune(cmd, cf, flags, f.out, f.resume)
			}
			if f.from == "" {
				return fmt.Errorf("finetune: --from is required: the checkpoint (or HuggingFace directory) to fine-tune; --resume continues a fine-tuning run instead")
			}
			if f.adapter != "" && !f.lora {
				return fmt.Errorf("finetune: --adapter %s continues training a LoRA adapter: add --lora, or merge it first (moetrain merge) to fine-tune fully", f.adapter)
			}
			if err := refuseUsedOut("finetune", f.out, f.force); err != nil {
				return err
			}
			srcCfg, src, _, err := train.OpenModel(f.from)
			if err != nil {
				return fmt.Errorf("finetune: --from %s: %w", f.from, err)
			}
			base, err := srcCfg.YAML()
			if err != nil {
				return err
			}
			cfg, err := cf.loadOver(base, "the configuration of "+f.from, flags)
			if err != nil {
				return err
			}
			if cfg.Data.Path == "" {
				return fmt.Errorf("finetune: --data is required: the task data (JSONL prompt/completion or Alpaca, or text)")
			}
			m, err := finetuneModel(cmd.OutOrStdout(), cfg, src, f)
			if err != nil {
				return err
			}
			return runFinetune(cmd, cfg, m, f.out, false, "", f.force, f.from)
		},
	}
	cf.add(cmd, "")
	cmd.Flags().StringVar(&f.from, "from", "", "checkpoint or HuggingFace directory to fine-tune")
	cmd.Flags().String("data", "", "task data: JSONL (prompt/completion or Alpaca) or text")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "run directory of the fine-tuning run")
	cmd.Flags().BoolVar(&f.lora, "lora", false, "train LoRA adapters (lora.*) on the frozen model instead of every weight")
	cmd.Flags().StringVar(&f.adapter, "adapter", "", "with --lora: a PEFT adapter directory to continue training")
	addResumeFlag(cmd, &f.resume, "continue the fine-tuning run in OUT from its latest checkpoint")
	cmd.Flags().BoolVar(&f.force, "force", false, "start over in an OUT that already holds a run, deleting its checkpoints and metrics")
	cmd.MarkFlagRequired("out")
	return cmd
}

// finetuneModel builds the model to fine-tune: cfg's model with the source's
// weights (strictly: the shape is the source's), then, with --lora, frozen
// with adapters attached: new ones from lora.*, the ones --adapter names, or
// the ones a LoRA run's checkpoint (--from) already holds.
func finetuneModel(w io.Writer, cfg *configs.Config, src *layers.Model, f finetuneFlags) (*layers.Model, error) {
	m, err := train.NewModel(cfg)
	if err != nil {
		return nil, err
	}
	srcLoRA, srcHasLoRA := src.AttachedLoRA()
	switch {
	case srcHasLoRA && !f.lora:
		return nil, fmt.Errorf("finetune: %s holds LoRA adapters: continue training them with --lora, or fold them into the weights first (moetrain merge)", f.from)
	case srcHasLoRA && f.adapter != "":
		return nil, fmt.Errorf("finetune: %s already holds LoRA adapters and --adapter %s names others: pass one of them", f.from, f.adapter)
	case srcHasLoRA:
		if _, err := m.AttachLoRA(srcLoRA, uint64(cfg.Train.Seed)); err != nil {
			return nil, err
		}
	}
	if err := train.SetModelTensors(m, train.ModelTensors(src), f.from); err != nil {
		return nil, fmt.Errorf("finetune: the configuration's model does not fit %s: %w; keep the checkpoint's model.* and moe.* settings", f.from, err)
	}
	if !f.lora {
		fmt.Fprintf(w, "finetune: full, every one of the %s parameters trains\n", humanCount(m.NumParams()))
		return m, nil
	}
	var rep *layers.LoRAReport
	switch {
	case srcHasLoRA:
		fmt.Fprintf(w, "finetune: LoRA, continuing the adapters of %s (rank %d)\n", f.from, srcLoRA.Rank)
	case f.adapter != "":
		if rep, err = train.AttachAdapter(m, f.adapter); err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		fmt.Fprintf(w, "finetune: LoRA, continuing the adapter %s (its lora settings, not lora.*)\n", f.adapter)
	default:
		if rep, err = m.AttachLoRA(train.LoRAConfig(cfg), uint64(cfg.Train.Seed)); err != nil {
			return nil, fmt.Errorf("finetune: lora.targets: %w", err)
		}
	}
	// The run's saved configuration describes the adapters it trains (those of --adapter or of a
	// LoRA checkpoint may differ from lora.*), so that its checkpoints load and resume.
	l, _ := m.AttachedLoRA()
	cfg.LoRA = configs.LoRAConfig{Rank: l.Rank, Alpha: l.Alpha, Dropout: l.Dropout, Targets: l.Targets, RSLoRA: l.RSLoRA, Init: configs.LoRAInit(l.Init)}
	if rep != nil {
		fmt.Fprintf(w, "finetune: LoRA rank %d, scale %g\n%s", l.Rank, l.Scale(), rep)
	}
	return m, nil
}

// runFinetune loads the task data and trains m, saving the adapter (when m
// has one) in every checkpoint and in OUT/adapter at the end.
func runFinetune(cmd *cobra.Command, cfg *configs.Config, m *layers.Model, out string, resume bool, resumeFrom string, force bool, base string) error {
	w := cmd.OutOrStdout()
	fd, err := train.LoadFinetuneData(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, fd.Summary())
	run := trainRun{command: "finetune", cfg: cfg, out: out, resume: resume, resumeFrom: resumeFrom, force: force, model: m,
		batches: func() train.Batches { return fd.TrainBatches(cfg) }, val: fd.EvalSet(cfg)}
	_, lora := m.AttachedLoRA()
	if lora {
		run.extras = func(stepDir string) error {
			return train.SaveAdapter(filepath.Join(stepDir, train.AdapterDir), m, base)
		}
	}
	if err := run.execute(cmd); err != nil {
		return err
	}
	if lora {
		dir := filepath.Join(out, train.AdapterDir)
		if err := train.SaveAdapter(dir, m, base); err != nil {
			return err
		}
		fmt.Fprintf(w, "adapter: %s (PEFT: adapter_model.safetensors, adapter_config.json)\n", dir)
	}
	return nil
}

// resumeFinetune continues a fine-tuning run from its latest checkpoint (under
// --resume auto, the newest that verifies),
// whose model (with its adapters, for a LoRA run) and configuration it
// reads; --config and --set change the configuration as for a new run.
func resumeFinetune(cmd *cobra.Command, cf configFlags, flags map[string]string, out string, mode resumeMode) error {
	from, err := resumeSource("finetune", out, mode, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg, err := cf.loadOverRun("finetune", cmp.Or(from, out), flags)
	if err != nil {
		return err
	}
	_, m, _, err := train.LoadModel(cmp.Or(from, out))
	if err != nil {
		return fmt.Errorf("finetune --resume: %w", err)
	}
	return runFinetune(cmd, cfg, m, out, true, from, false, resumedBase(out))
}

// resumedBase is the base model a resumed LoRA run's adapter names: what its
// OUT/adapter says, or the run directory when it has none yet.
func resumedBase(out string) string {
	if a, _, err := checkpoint.LoadAdapter(filepath.Join(out, train.AdapterDir)); err == nil && a.BaseModel != "" {
		return a.BaseModel
	}
	return out
}
