package train

import (
	"errors"
	"fmt"
	"io"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/data"
	"github.com/moetrain/moetrain/layers"
)

// IsTaskData reports whether the file at path is fine-tuning task data whose
// loss counts only some tokens: JSONL whose first record has prompt and
// completion, or Alpaca instruction and output, fields. Text, JSONL text
// records and anything unreadable are not (the caller's reader reports why).
func IsTaskData(path string) bool {
	fr, err := data.OpenFinetune(path, data.FinetuneReadOptions{Format: data.FinetuneAuto})
	if err != nil {
		return false
	}
	defer fr.Close()
	f := fr.Format()
	return f == data.FinetunePromptCompletion || f == data.FinetuneAlpaca
}

// EvalTaskFile scores m on every record of the task file path (c gives the
// tokenizer, train.seq_len and micro-batch size): the mean loss over the
// trained tokens only (completions, Alpaca outputs), packed as fine-tuning
// packs them. It returns the loss and the record format read.
func EvalTaskFile(m *layers.Model, c *configs.Config, path string) (EvalResult, string, error) {
	cc := *c
	cc.Data.Path, cc.Data.Format, cc.Data.ValFraction = path, configs.FormatAuto, 0
	cc.Train.EvalEvery = 0 // no split, no validation during training to check for
	fd, err := LoadFinetuneData(&cc)
	if err != nil {
		return EvalResult{}, "", err
	}
	in, tg := fd.Set.AllWindows(c.Train.MicroBatchSize)
	return Evaluate(m, in, tg, c.Train.SeqLen), fd.Format, nil
}

// EvalTaskSplit scores m on the validation split of c's own task data, as a
// fine-tuning run of c evaluates.
func EvalTaskSplit(m *layers.Model, c *configs.Config, batches int) (EvalResult, error) {
	fd, err := LoadFinetuneData(c)
	if err != nil {
		return EvalResult{}, err
	}
	ev := fd.EvalSet(c)
	if ev == nil {
		return EvalResult{}, errNoValidation(c)
	}
	in, tg := ev.Windows(batches)
	return Evaluate(m, in, tg, c.Train.SeqLen), nil
}

// errNoValidation says that c's data held out nothing to evaluate on.
func errNoValidation(c *configs.Config) error {
	return fmt.Errorf("the task data %s has no validation documents (data.val_fraction = %g); pass --data", c.Data.Path, c.Data.ValFraction)
}

// TaskTokens reads every record of the task file path as one token stream,
// prompt then completion then end-of-text per record, with c's tokenizer:
// calibration data for prune, which routes prompts and completions alike.
func TaskTokens(c *configs.Config, path string) ([]int32, error) {
	tok, err := data.LoadTokenizer(c.Data.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("data.tokenizer: %w", err)
	}
	eot, err := tok.EndOfText()
	if err != nil {
		return nil, fmt.Errorf("data %s: tokenizer %s: %w", path, tok.Name(), err)
	}
	fr, err := data.OpenFinetune(path, data.FinetuneReadOptions{Format: data.FinetuneAuto})
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	var out []int32
	for {
		rec, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, data.EncodeRecord(tok, eot, rec).Tokens...)
	}
}
