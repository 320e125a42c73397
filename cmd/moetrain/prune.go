package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
	"github.com/moetrain/moetrain/train/prune"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newPruneCommand) }

// pruneFlags are the prune command's options.
type pruneFlags struct {
	ckpt, data, format, out, method string
	keep, batches, evalBatches      int
	maxSubsets                      int
	force                           bool
}

func newPruneCommand() *cobra.Command {
	var f pruneFlags
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Keep the experts a task uses: prune every MoE layer to --keep experts",
		Long: `Prune a trained MoE checkpoint for the data of one task. The model runs without gradients over
up to --batches micro-batches of --data (windows of train.seq_len, as eval cuts them), and every
MoE layer keeps --keep of its experts:

  frequency       the experts with the largest total routing weight on the data
  reconstruction  the subset whose layer output, with only it available to the router, is closest
                  (squared error over the data's tokens) to the full layer's output: exhaustive over
                  all C(E, keep) subsets when there are at most --max-subsets, greedy otherwise
                  (drop one expert at a time, the one whose removal hurts least)

The pruned model (moe.num_experts = keep, moe.top_k = min(top_k, keep), the dropped experts' router
rows and weights deleted, everything else copied) is written as step 0 of the run directory OUT. It
prints the kept experts of every layer with their share of the routing weight, and the eval loss on
--data before and after pruning. An OUT that already holds a run is refused unless --force.`,
		Example: `  moetrain prune --ckpt runs/tiny --data task.txt --keep 4 --out runs/tiny-pruned
  moetrain prune --ckpt runs/tiny --data task.txt --keep 4 --method frequency --out runs/tiny-freq
  moetrain eval --ckpt runs/tiny-pruned --data held_out.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPrune(cmd.OutOrStdout(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ckpt, "ckpt", "", "checkpoint to prune: a run dir, its checkpoints dir, or one step dir")
	fl.StringVar(&f.data, "data", "", "the task's data: calibration and evaluation text (file, directory or glob)")
	fl.StringVar(&f.format, "format", "", "data format (auto, text, jsonl, parquet, arrow, shards); default auto")
	fl.IntVar(&f.keep, "keep", 0, "experts to keep in every MoE layer (1 to num_experts-1)")
	fl.StringVarP(&f.out, "out", "o", "", "run directory to write the pruned model into, as step 0")
	fl.StringVar(&f.method, "method", string(prune.Reconstruction), "how to choose the experts: frequency or reconstruction")
	fl.IntVar(&f.batches, "batches", prune.DefaultBatches, "calibration micro-batches, at most")
	fl.IntVar(&f.evalBatches, "eval-batches", 0, "micro-batches of --data for the eval loss before and after (0 = every window, as eval --data)")
	fl.IntVar(&f.maxSubsets, "max-subsets", prune.DefaultMaxSubsets, "reconstruction: largest C(E, keep) searched exhaustively; above it the search is greedy")
	fl.BoolVar(&f.force, "force", false, "write into an OUT that already holds a run, deleting its checkpoints and metrics first")
	for _, name := range []string{"ckpt", "data", "keep", "out"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

// runPrune checks everything, prunes in memory, and only then claims OUT
// and writes the checkpoint.
func runPrune(w io.Writer, f pruneFlags) error {
	method := prune.Method(f.method)
	switch {
	case method != prune.Frequency && method != prune.Reconstruction:
		return fmt.Errorf("prune: --method %q: want frequency or reconstruction", f.method)
	case f.keep < 1:
		return fmt.Errorf("prune: --keep %d: keep at least 1 expert per MoE layer", f.keep)
	case f.batches < 1:
		return fmt.Errorf("prune: --batches %d: want a positive number of calibration micro-batches", f.batches)
	case f.evalBatches < 0:
		return fmt.Errorf("prune: --eval-batches %d: want 0 (every window) or a positive count", f.evalBatches)
	case f.maxSubsets < 1:
		return fmt.Errorf("prune: --max-subsets %d: want a positive count", f.maxSubsets)
	}
	if err := checkPruneOut(f.ckpt, f.out); err != nil {
		return err
	}
	if !f.force { // refuse a used --out before the work (ClaimRunDir without force only looks)
		if err := train.ClaimRunDir(f.out, false); err != nil {
			return pruneOutError(err)
		}
	}
	cfg, m, _, err := train.LoadModel(f.ckpt)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if _, err := prune.PrunedConfig(cfg, f.keep); err != nil {
		return fmt.Errorf("%w (checkpoint %s)", err, f.ckpt)
	}
	toks, err := pruneTokens(cfg, f.data, f.format)
	if err != nil {
		return err
	}
	res, err := prune.Prune(cfg, m, toks, prune.Options{Keep: f.keep, Method: method, Batches: f.batches, MaxSubsets: f.maxSubsets})
	if err != nil {
		return err
	}
	printPruneLayers(w, cfg, res, method, f)
	evalToks := toks
	if n := f.evalBatches * cfg.Train.MicroBatchSize * cfg.Train.SeqLen; f.evalBatches > 0 && n+1 < len(toks) {
		evalToks = toks[:n+1]
	}
	before := train.EvalTokens(m, evalToks, cfg.Train.MicroBatchSize, cfg.Train.SeqLen)
	after := train.EvalTokens(res.Model, evalToks, cfg.Train.MicroBatchSize, cfg.Train.SeqLen)
	fmt.Fprintf(w, "prune: eval on %s (%d tokens): loss %.4f before, %.4f after (%+.4f); ppl %.3f -> %.3f\n",
		f.data, after.Tokens, before.Loss, after.Loss, after.Loss-before.Loss, before.PPL, after.PPL)
	if err := train.ClaimRunDir(f.out, f.force); err != nil {
		return pruneOutError(err)
	}
	dir, err := train.NewInference(res.Config, res.Model).Save(f.out)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	fmt.Fprintf(w, "prune: parameters %s -> %s; wrote %s\n", humanCount(m.NumParams()), humanCount(res.Model.NumParams()), dir)
	return nil
}

// checkPruneOut refuses an OUT that holds the checkpoint being pruned: with
// --force its checkpoints would be deleted.
func checkPruneOut(ckpt, out string) error {
	src, err := checkpoint.Resolve(ckpt)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	srcAbs, err1 := filepath.Abs(src)
	ckDir, err2 := filepath.Abs(filepath.Join(out, checkpoint.CheckpointsDir))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if rel, err := filepath.Rel(ckDir, srcAbs); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("prune: --out %s holds the checkpoint being pruned (%s): pass another --out", out, src)
	}
	return nil
}

func pruneOutError(err error) error {
	var inUse *train.RunDirInUseError
	if errors.As(err, &inUse) {
		return fmt.Errorf("prune: %w: the pruned model would become its step 0; pass another --out, or --force to delete its checkpoints and metrics first", err)
	}
	return fmt.Errorf("prune: %w", err)
}

// pruneTokens reads the data with the checkpoint's tokenizer and
// vocabulary; cfg itself keeps its own data settings.
func pruneTokens(cfg *configs.Config, path, format string) ([]int32, error) {
	dc := *cfg
	dc.Data.Path, dc.Data.Format = path, configs.FormatAuto
	if format != "" {
		dc.Data.Format = configs.DataFormat(format)
	}
	var toks []int32
	var err error
	if format == "" && train.IsTaskData(path) {
		toks, err = train.TaskTokens(&dc, path) // prompt/completion or Alpaca records, prompts and completions alike
	} else {
		toks, _, err = train.LoadTokens(&dc)
	}
	if err != nil {
		return nil, fmt.Errorf("prune: --data %s: %w", path, err)
	}
	if len(toks) < 2 {
		return nil, fmt.Errorf("prune: --data %s holds %d tokens: it needs at least 2", path, len(toks))
	}
	return toks, nil
}

// printPruneLayers prints what was kept in every MoE layer.
func printPruneLayers(w io.Writer, cfg *configs.Config, res *prune.Result, method prune.Method, f pruneFlags) {
	fmt.Fprintf(w, "prune: %s; keeping %d experts in each of %d MoE layers (moe.num_experts %s -> %d, moe.top_k %d -> %d); calibration %d batches, %d tokens of %s\n",
		method, f.keep, len(res.Layers), cfg.MoE.NumExperts, f.keep, cfg.MoE.TopK, res.Config.MoE.TopK, res.Batches, res.Tokens, f.data)
	for _, l := range res.Layers {
		shares := make([]string, len(l.Kept))
		for j, e := range l.Kept {
			shares[j] = fmt.Sprintf("%d:%.1f%%", e, 100*l.Usage[e])
		}
		line := fmt.Sprintf("layer %d: kept %v of %d, usage %s = %.1f%% of the routing weight", l.Index, l.Kept, l.Experts, strings.Join(shares, " "), 100*l.KeptUsage())
		if method == prune.Reconstruction {
			how := fmt.Sprintf("exhaustive over %d subsets", l.Subsets)
			if !l.Exhaustive {
				how = fmt.Sprintf("greedy (C(%d, %d) > --max-subsets %d; %d subsets scored)", l.Experts, f.keep, f.maxSubsets, l.Subsets)
			}
			rel := 0.0
			if l.Reference > 0 {
				rel = l.Error / l.Reference
			}
			line += fmt.Sprintf("; %s, relative output error %.4f", how, rel)
		}
		fmt.Fprintln(w, line)
	}
}
