package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newEvalCommand) }

func newEvalCommand() *cobra.Command {
	var ckpt, dataPath, format, adapter string
	var asJSON bool
	var batches int
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Mean next-token cross-entropy and perplexity of a checkpoint",
		Long: `Evaluate a checkpoint. With --data, every token of the data after the first is predicted once,
in windows of train.seq_len (a file of exactly seq_len+1 tokens is one window); task data (JSONL
with prompt/completion or Alpaca instruction/output fields) is packed as finetune packs it and
scored on the completion (output) tokens only. Without --data, the validation split of the data the
model was trained (or fine-tuned) on is used. --adapter applies a LoRA adapter first.`,
		Example: `  moetrain eval --ckpt runs/tiny
  moetrain eval --ckpt runs/tiny/checkpoints/step-00000300 --data held_out.txt --json
  moetrain eval --ckpt runs/tiny --adapter runs/task-lora/adapter --data task_test.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if batches < 0 {
				return fmt.Errorf("eval: --batches %d: want 0 (all) or a positive count", batches)
			}
			cfg, m, err := loadModelAdapted("eval", ckpt, adapter)
			if err != nil {
				return err
			}
			var res train.EvalResult
			switch {
			case dataPath != "" && format == "" && train.IsTaskData(dataPath):
				if res, _, err = train.EvalTaskFile(m, cfg, dataPath); err != nil {
					return err
				}
			case dataPath != "":
				cfg.Data.Path = dataPath
				cfg.Data.Format = configs.FormatAuto
				if format != "" {
					cfg.Data.Format = configs.DataFormat(format)
				}
				toks, _, err := train.LoadTokens(cfg)
				if err != nil {
					return err
				}
				res = train.EvalTokens(m, toks, cfg.Train.MicroBatchSize, cfg.Train.SeqLen)
			case cfg.Data.Path != "" && train.IsTaskData(cfg.Data.Path):
				if res, err = train.EvalTaskSplit(m, cfg, batches); err != nil {
					return fmt.Errorf("eval: the training data recorded in %s: %w; pass --data FILE to evaluate on data at hand", ckpt, err)
				}
			default:
				ds, err := train.LoadData(cfg)
				if err != nil {
					return fmt.Errorf("eval: the training data recorded in %s: %w; pass --data FILE to evaluate on data at hand", ckpt, err)
				}
				in, tg := ds.EvalSet(cfg).Windows(batches)
				if len(in) == 0 {
					return fmt.Errorf("eval: the training data has no validation windows (data.val_fraction = %g); pass --data", cfg.Data.ValFraction)
				}
				res = train.Evaluate(m, in, tg, cfg.Train.SeqLen)
			}
			if res.Tokens == 0 {
				return fmt.Errorf("eval: no tokens to predict (the data needs at least 2 tokens)")
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				return fmt.Errorf("eval: the loss of checkpoint %s is %v: its weights give non-finite logits; use an earlier checkpoint (its step directory)", ckpt, res.Loss)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(res)
			}
			fmt.Fprintf(w, "loss %.4f nats/token  ppl %.3f  tokens %d\n", res.Loss, res.PPL, res.Tokens)
			return nil
		},
	}
	cmd.Flags().StringVar(&ckpt, "ckpt", "", "checkpoint: a run dir, its checkpoints dir, or one step dir")
	cmd.Flags().StringVar(&dataPath, "data", "", "data to evaluate on (default: the validation split of the training data)")
	cmd.Flags().StringVar(&format, "format", "", "data format (auto, text, jsonl, parquet, arrow, shards)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: loss, ppl, tokens")
	cmd.Flags().IntVar(&batches, "batches", 0, "validation batches to use without --data (0 = all)")
	addAdapterFlag(cmd, &adapter)
	cmd.MarkFlagRequired("ckpt")
	return cmd
}
