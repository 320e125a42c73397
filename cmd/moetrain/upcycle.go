package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
	"github.com/moetrain/moetrain/train/upcycle"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newUpcycleCommand) }

func newUpcycleCommand() *cobra.Command {
	var cf configFlags
	var from []string
	var out string
	var resume resumeMode
	var force bool
	cmd := &cobra.Command{
		Use:   "upcycle",
		Short: "Turn a dense checkpoint into an MoE model (sparse upcycling), then train it",
		Long: `Upcycle a trained dense model into a Mixture-of-Experts one and keep training it.

--from is a moetrain checkpoint (a run dir, its checkpoints dir or a step dir) or a HuggingFace
Llama directory (config.json and safetensors). The target configuration is the source's own, with
what --config (a preset or YAML file) and --set change: the MoE shape (moe.num_experts, moe.top_k,
moe.layer_freq, moe.expert_ffn_hidden_size, moe.shared_experts) and the upcycle.* keys. Its model.*
keys must equal the source's; a difference is an error naming the key.

upcycle.method: copy (every expert a copy of the dense FFN, a new router), granular (the FFN cut
into upcycle.granularity shards), drop (copies with upcycle.drop_ratio of each expert's neurons
re-initialised), btx (--from given once per dense source of one shape: experts from the sources'
FFNs, every other weight their average). It prints a summary (converted layers, total and active
parameters, the loss of source and upcycled model on a validation batch) and then trains for
train.steps exactly like pretrain: progress, metrics, checkpoints, Ctrl-C and --resume.
--set train.steps=0 writes the converted model as the run's step-0 checkpoint.`,
		Example: `  moetrain upcycle --from runs/dense --config tiny --out runs/upcycled
  moetrain upcycle --from runs/dense --config tiny --set upcycle.method=granular --set upcycle.granularity=2 \
      --set moe.num_experts=16 --set moe.top_k=4 --set moe.expert_ffn_hidden_size=128 --out runs/granular
  moetrain upcycle --from runs/code --from runs/prose --config tiny --set upcycle.method=btx --out runs/btx
  moetrain upcycle --from runs/dense --config tiny --out runs/upcycled --set train.steps=0   # convert only
  moetrain upcycle --resume --out runs/upcycled --set train.steps=2000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateRunFlags("upcycle", out, resume.on(), force); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			flags := setFlags(cmd, map[string]string{"data": "data.path"})
			if resume.on() {
				return resumeUpcycle(cmd, cf, flags, out, resume)
			}
			if len(from) == 0 {
				return fmt.Errorf("upcycle: --from is required: the dense checkpoint (or HuggingFace directory) to upcycle; --resume continues an upcycled run instead")
			}
			if err := refuseUsedOut("upcycle", out, force); err != nil { // before the work of converting
				return err
			}
			sources := make([]upcycle.Source, len(from))
			for i, path := range from {
				s, err := upcycle.OpenSource(path)
				if err != nil {
					return fmt.Errorf("upcycle: --from %s: %w", path, err)
				}
				sources[i] = s
			}
			base, err := sources[0].Config.YAML()
			if err != nil {
				return err
			}
			cfg, err := cf.loadOver(base, "the configuration of "+from[0], flags)
			if err != nil {
				return err
			}
			res, err := upcycle.Convert(cfg, sources)
			if err != nil {
				return fmt.Errorf("upcycle: %w", err)
			}
			ds, err := loadTrainingData(w, cfg)
			if err != nil {
				return err
			}
			printUpcycleSummary(w, cfg, sources, res, ds)
			run := trainRun{command: "upcycle", cfg: cfg, out: out, force: force, model: res.Model, optState: res.OptimizerState()}
			return run.withData(ds).execute(cmd)
		},
	}
	cf.add(cmd, "")
	cmd.Flags().StringArrayVar(&from, "from", nil, "dense checkpoint or HuggingFace Llama directory to upcycle (btx: once per source)")
	cmd.Flags().String("data", "", "training data (default: the source configuration's data.path, or --config's)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "run directory of the upcycled model")
	addResumeFlag(cmd, &resume, "continue the upcycled run in OUT from its latest checkpoint (--from is not read)")
	cmd.Flags().BoolVar(&force, "force", false, "start over in an OUT that already holds a run, deleting its checkpoints and metrics")
	cmd.MarkFlagRequired("out")
	return cmd
}

// resumeUpcycle continues an upcycled run: its configuration is the one its
// latest checkpoint (under --resume auto, the one resumed from) saved, with
// what --config and --set change; its weights and optimizer come from that
// checkpoint, so the sources are not read.
func resumeUpcycle(cmd *cobra.Command, cf configFlags, flags map[string]string, out string, mode resumeMode) error {
	from, err := resumeSource("upcycle", out, mode, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg, err := cf.loadOverRun("upcycle", cmp.Or(from, out), flags)
	if err != nil {
		return err
	}
	ds, err := loadTrainingData(cmd.OutOrStdout(), cfg)
	if err != nil {
		return err
	}
	return trainRun{command: "upcycle", cfg: cfg, out: out, resume: true, resumeFrom: from}.withData(ds).execute(cmd)
}

// printUpcycleSummary prints what was converted and the check of function
// preservation: the loss of every source and of the upcycled model on the
// first validation batch.
func printUpcycleSummary(w io.Writer, cfg *configs.Config, sources []upcycle.Source, res *upcycle.Result, ds *train.Data) {
	u := cfg.Upcycle
	method := string(u.Method)
	switch {
	case u.Method == configs.UpcycleGranular:
		method += fmt.Sprintf(" (G = %d)", u.Granularity)
	case u.Method == configs.UpcycleDrop:
		method += fmt.Sprintf(" (ratio %g)", u.DropRatio)
	case len(sources) > 1:
		method += fmt.Sprintf(" (%d sources)", len(sources))
	}
	var extras []string
	if u.SharedExpert {
		extras = append(extras, "shared expert")
	}
	if u.NoiseStd > 0 {
		extras = append(extras, fmt.Sprintf("noise %g", u.NoiseStd))
	}
	if res.ExpAvg != nil {
		extras = append(extras, fmt.Sprintf("AdamW moments carried (%d steps)", res.OptimizerSteps))
	} else if u.CarryOptimizer {
		extras = append(extras, "no AdamW moments in the source: the optimizer starts fresh")
	}
	if len(extras) > 0 {
		method += "; " + strings.Join(extras, ", ")
	}
	fmt.Fprintf(w, "upcycle: method %s; layers %v of %d converted to %s experts, top-%d\n",
		method, res.Converted, cfg.Model.NLayers, cfg.MoE.NumExperts.String(), cfg.MoE.TopK)
	fmt.Fprintf(w, "upcycle: parameters %s total, %s active per token -> %s total, %s active\n",
		humanCount(res.ParamsBefore), humanCount(res.ActiveBefore), humanCount(res.ParamsAfter), humanCount(res.ActiveAfter))
	in, tg := ds.EvalSet(cfg).Windows(1)
	if len(in) == 0 {
		fmt.Fprintln(w, "upcycle: check skipped: the data has no validation batch (data.val_fraction)")
		return
	}
	after := train.Evaluate(res.Model, in, tg, cfg.Train.SeqLen).Loss
	for _, s := range sources {
		before := train.Evaluate(s.Model, in, tg, cfg.Train.SeqLen).Loss
		fmt.Fprintf(w, "upcycle: check: validation-batch loss %.6f (%s) -> %.6f upcycled (|diff| %.2g)\n",
			before, s.Name, after, math.Abs(after-before))
	}
}
