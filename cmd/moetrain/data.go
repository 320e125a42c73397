package main

import (
	"fmt"
	"time"

	"github.com/moetrain/moetrain/data"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newDataCommand) }

func newDataCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Prepare training data"}
	var o data.PrepareOptions
	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Tokenize a corpus once into packed Arrow IPC shards with a manifest",
		Long: `Read text, JSONL, Parquet or Arrow IPC input, tokenize it, and write packed token shards
(Arrow IPC, one list<int32> column), manifest.json (tokenizer, vocabulary size, token counts, SHA-256
checksums) and, for BPE, tokenizer.json into --out. Train on the result with --data OUT.
--tokenizer bpe:N first trains an N-token byte-level BPE on the input.`,
		Example: `  moetrain data prepare --input corpus/ --tokenizer byte --out shards/
  moetrain data prepare --input wiki.parquet --text-field text --tokenizer bpe:4096 --out shards/wiki
  moetrain pretrain --config small --data shards/wiki --set model.vocab_size=4096`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			start, last := time.Now(), time.Now()
			o.Progress = func(docs, tokens int64) {
				if time.Since(last) > 2*time.Second {
					fmt.Fprintf(w, "  %d documents, %d tokens\n", docs, tokens)
					last = time.Now()
				}
			}
			m, err := data.Prepare(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote %d shards, %d tokens (tokenizer %s, vocabulary %d) to %s in %s\n",
				len(m.Shards), m.Tokens, m.Tokenizer, m.VocabSize, o.Out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := prepare.Flags()
	f.StringVarP(&o.Input, "input", "i", "", "file, directory or glob to read (default: the embedded corpus)")
	f.StringVar(&o.Format, "format", "auto", "input format: auto, text, jsonl, parquet, arrow")
	f.StringVar(&o.TextField, "text-field", "text", "JSON field or column holding the text (or token ids)")
	f.StringVar(&o.Tokenizer, "tokenizer", "byte", `"byte", a tokenizer.json path, or bpe:N to train one`)
	f.StringVarP(&o.Out, "out", "o", "", "output directory")
	f.IntVar(&o.ShardTokens, "shard-tokens", 0, "most tokens per shard, at least 256 (default 16M)")
	prepare.MarkFlagRequired("out")
	cmd.AddCommand(prepare)
	return cmd
}
