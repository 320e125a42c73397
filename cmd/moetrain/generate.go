package main

import (
	"errors"
	"fmt"

	"github.com/moetrain/moetrain/data"
	"github.com/moetrain/moetrain/train"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newGenerateCommand) }

func newGenerateCommand() *cobra.Command {
	var ckpt, prompt, adapter string
	var o train.SampleOptions
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Sample text from a checkpoint (KV-cached decoding)",
		Long: `Continue a prompt with tokens sampled from softmax(logits / temperature) over the top-k most
likely tokens (temperature 0: always the most likely). The model sees at most model.max_seq_len
tokens: a longer prompt is cut to its last max_seq_len tokens, and once the context is full each
new token is predicted from the last max_seq_len tokens (said once on stderr).`,
		Example: `  moetrain generate --ckpt runs/tiny --prompt "The river" --max-new-tokens 200 --temperature 0.8 --top-k 40`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flags := train.SampleOptionNames{MaxNewTokens: "-n/--max-new-tokens", Temperature: "-t/--temperature", TopK: "-k/--top-k"}
			if err := o.ValidateAs(flags); err != nil {
				return err
			}
			cfg, m, err := loadModelAdapted("generate", ckpt, adapter)
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
			if err := train.CheckTokenIDs(ids, m.Cfg.Vocab); err != nil {
				return fmt.Errorf("generate: --prompt encoded with tokenizer %s: %w (checkpoint %s); restore the tokenizer file the model was trained with", cfg.Data.Tokenizer, err, ckpt)
			}
			if note := windowNote(len(ids), o.MaxNewTokens, cfg.Model.MaxSeqLen); note != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), note)
			}
			out, err := train.Generate(m, ids, o)
			var nonFinite *train.NonFiniteLogitsError
			if errors.As(err, &nonFinite) {
				return fmt.Errorf("%w; refusing to print what checkpoint %s samples from them: use an earlier checkpoint (its step directory)", err, ckpt)
			}
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
	addAdapterFlag(cmd, &adapter)
	cmd.MarkFlagRequired("ckpt")
	cmd.MarkFlagRequired("prompt")
	return cmd
}

// windowNote says how the context is cut when a prompt of promptLen tokens
// and n new tokens do not fit in maxLen positions, or returns "".
func windowNote(promptLen, n, maxLen int) string {
	switch {
	case promptLen > maxLen:
		return fmt.Sprintf("generate: the prompt's %d tokens exceed model.max_seq_len = %d; the model sees its last %d, and each new token is predicted from the last %d tokens",
			promptLen, maxLen, maxLen, maxLen)
	case promptLen+n > maxLen:
		return fmt.Sprintf("generate: the prompt's %d tokens and %d new ones exceed model.max_seq_len = %d; past that, each new token is predicted from the last %d tokens",
			promptLen, n, maxLen, maxLen)
	}
	return ""
}
