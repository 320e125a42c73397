package main

import (
	"fmt"

	"github.com/moetrain/moetrain/data"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newGenerateCommand) }

func newGenerateCommand() *cobra.Command {
	var ckpt, prompt string
	var o train.SampleOptions
	cmd := &cobra.Command{
		Use:     "generate",
		Short:   "Sample text from a checkpoint (KV-cached decoding)",
		Example: `  moetrain generate --ckpt runs/tiny --prompt "The river" --max-new-tokens 200 --temperature 0.8 --top-k 40`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, m, _, err := train.LoadModel(ckpt)
			if err != nil {
				return err
			}
			tok, err := data.LoadTokenizer(cfg.Data.Tokenizer)
			if err != nil {
				return fmt.Errorf("generate: tokenizer of %s: %w", ckpt, err)
			}
			ids := tok.Encode(prompt)
			if len(ids) == 0 {
				return fmt.Errorf("generate: --prompt is empty")
			}
			out, err := train.Generate(m, ids, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), prompt+tok.Decode(out))
			return nil
		},
	}
	cmd.Flags().StringVar(&ckpt, "ckpt", "", "checkpoint: a run dir, its checkpoints dir, or one step dir")
	cmd.Flags().StringVarP(&prompt, "prompt", "p", "", "text to continue")
	cmd.Flags().IntVarP(&o.MaxNewTokens, "max-new-tokens", "n", 200, "tokens to generate")
	cmd.Flags().Float64VarP(&o.Temperature, "temperature", "t", 0.8, "sampling temperature (0 = greedy)")
	cmd.Flags().IntVarP(&o.TopK, "top-k", "k", 40, "sample among the k most likely tokens (0 = all)")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 0, "random seed")
	cmd.MarkFlagRequired("ckpt")
	cmd.MarkFlagRequired("prompt")
	return cmd
}
