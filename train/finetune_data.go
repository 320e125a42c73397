package train

import (
	"fmt"
	"os"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/data"
)

// FinetuneData is a fine-tuning run's loaded task data: the records of data.path, tokenized, split
// by whole documents (data.val_fraction) and packed into windows of train.seq_len+1 tokens whose
// targets are IgnoreIndex wherever the loss does not count (prompts, padding, document starts).
type FinetuneData struct {
	Set       *data.FinetuneSet
	Tokenizer data.Tokenizer
	Source    string // data.path
	Format    string // the record format read: prompt_completion, alpaca or text
}

// LoadFinetuneData reads the fine-tuning file data.path (data.OpenFinetune's formats: JSONL with
// prompt/completion or Alpaca instruction/input/output fields, where only the completion or output
// is trained, and JSONL {"text": ...} or a plain text file, where every token is) with the
// data.tokenizer tokenizer, each record ending in its end-of-text id. data.format auto and jsonl
// tell the record format from the first record's fields; text reads the text format only. A
// document longer than train.seq_len+1 tokens runs on over several windows. c is validated first.
func LoadFinetuneData(c *configs.Config) (*FinetuneData, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	path := c.Data.Path
	if path == "" {
		return nil, fmt.Errorf("data.path is empty: fine-tuning reads a file of records (prompt/completion or Alpaca JSONL, or text); give --data FILE or --set data.path=FILE")
	}
	format, err := finetuneFormat(c.Data.Format)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("data.path: %w", err)
	} else if info.IsDir() {
		return nil, fmt.Errorf("data.path %s is a directory: fine-tuning reads one file of records; give its path", path)
	}
	tok, err := data.LoadTokenizer(c.Data.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("data.tokenizer: %w", err)
	}
	if v := tok.VocabSize(); v > c.Model.VocabSize {
		return nil, fmt.Errorf("data %s: tokenizer %s has %d tokens but model.vocab_size is %d; fine-tune with the tokenizer the model was trained with",
			path, tok.Name(), v, c.Model.VocabSize)
	}
	if eot, err := tok.EndOfText(); err == nil && int(eot) >= c.Model.VocabSize {
		return nil, fmt.Errorf("data %s: tokenizer %s ends documents with id %d, outside model.vocab_size %d", path, tok.Name(), eot, c.Model.VocabSize)
	}
	set, err := data.LoadFinetune(path, tok, data.FinetuneOptions{
		Read: data.FinetuneReadOptions{Format: format},
		Pack: data.PackOptions{SeqLen: c.Train.SeqLen, ValFraction: c.Data.ValFraction},
	})
	if err != nil {
		return nil, err
	}
	return &FinetuneData{Set: set, Tokenizer: tok, Source: path, Format: set.Format()}, nil
}

// finetuneFormat maps data.format to the record format data.OpenFinetune reads.
func finetuneFormat(f configs.DataFormat) (string, error) {
	switch f {
	case configs.FormatAuto, configs.FormatJSONL:
		return data.FinetuneAuto, nil
	case configs.FormatText:
		return data.FinetuneText, nil
	}
	return "", fmt.Errorf("data.format %q: fine-tuning reads JSONL records (prompt/completion, Alpaca or text) or a plain text file; set data.format=auto", f)
}

// TrainBatches returns the training batches, [B*T] inputs and targets with B = train.micro_batch_size
// and T = train.seq_len, every window once per epoch in an order shuffled from train.seed. Its
// State and Restore let a resumed run draw exactly the batches an uninterrupted one would. c is the
// configuration the data was loaded with (its batch size is at least 1: Validate refuses less).
func (d *FinetuneData) TrainBatches(c *configs.Config) Batches {
	fb, _ := d.Set.NewSampler(uint64(c.Train.Seed)).NewBatches(max(c.Train.MicroBatchSize, 1)) // fails only below 1
	return fb
}

// EvalSet returns the validation windows in batches of train.micro_batch_size, always the same ones,
// or nil when data.val_fraction held out no document.
func (d *FinetuneData) EvalSet(c *configs.Config) EvalSet {
	if d.Set.ValWindows() == 0 {
		return nil
	}
	ev, _ := d.Set.NewEval(max(c.Train.MicroBatchSize, 1)) // fails only below 1
	return ev
}

// Summary is a line for the run's log: the file, its format, and the documents, tokens, trained
// tokens and windows of each part.
func (d *FinetuneData) Summary() string {
	s := fmt.Sprintf("finetune data %s (%s, T=%d): train %s", d.Source, d.Format, d.Set.SeqLen(), d.Set.TrainCounts())
	if d.Set.ValWindows() == 0 {
		return s + "; no validation documents (data.val_fraction), so no evaluation"
	}
	return s + "; validation " + d.Set.ValCounts().String()
}
