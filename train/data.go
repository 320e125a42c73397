package train

import (
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/data"
)

// Data is a run's loaded corpus: the split dataset and its tokenizer.
type Data struct {
	Dataset        *data.Dataset
	Tokenizer      data.Tokenizer
	Source         string  // the input path, or the embedded corpus' name
	UnigramEntropy float64 // nats per token of the whole stream: what a model that ignores context achieves
}

// LoadTokens reads and tokenizes the configured data (the embedded corpus when
// data.path is empty) and checks every id fits the model's vocabulary.
func LoadTokens(c *configs.Config) ([]int32, data.Tokenizer, error) {
	s, err := loadStream(c)
	if err != nil {
		return nil, nil, err
	}
	return s.Tokens, s.Tokenizer, nil
}

// loadStream loads the configured tokens. Shards carry their tokenizer: with
// the default "byte" the shards' own tokenizer is used, and c.Data.Tokenizer is
// set to it so that checkpoints (and generate) know how to decode.
func loadStream(c *configs.Config) (*data.Stream, error) {
	spec := c.Data.Tokenizer
	shards := false
	if c.Data.Path != "" && (c.Data.Format == configs.FormatAuto || c.Data.Format == configs.FormatShards) {
		f, _ := data.DetectFormat(c.Data.Path)
		shards = f == data.FormatShards
	}
	if shards && spec == data.ByteTokenizerSpec {
		spec = ""
	}
	s, err := data.Load(data.LoadOptions{Input: c.Data.Path, Format: string(c.Data.Format), TextField: c.Data.TextField, Tokenizer: spec})
	if err != nil {
		return nil, err
	}
	if shards && s.Manifest != nil && s.Manifest.Tokenizer != data.ByteTokenizerSpec {
		abs, err := filepath.Abs(filepath.Join(c.Data.Path, s.Manifest.Tokenizer))
		if err != nil {
			return nil, err
		}
		c.Data.Tokenizer = abs
	}
	if v := s.Tokenizer.VocabSize(); v > c.Model.VocabSize {
		return nil, fmt.Errorf("data %s: tokenizer %s has %d tokens but model.vocab_size is %d; set --set model.vocab_size=%d",
			s.Source, s.Tokenizer.Name(), v, c.Model.VocabSize, v)
	}
	for i, id := range s.Tokens {
		if id < 0 || int(id) >= c.Model.VocabSize {
			return nil, fmt.Errorf("data %s: token %d at position %d is outside model.vocab_size %d", s.Source, id, i, c.Model.VocabSize)
		}
	}
	return s, nil
}

// LoadData loads the configured data and splits it for training.
func LoadData(c *configs.Config) (*Data, error) {
	s, err := loadStream(c)
	if err != nil {
		return nil, err
	}
	ds, err := data.NewDataset(s.Tokens, data.DatasetOptions{SeqLen: c.Train.SeqLen, ValFraction: c.Data.ValFraction})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Source, err)
	}
	if ds.TrainWindows() == 0 {
		return nil, fmt.Errorf("data %s: %d tokens give no training window of train.seq_len+1 = %d tokens; use more data or a shorter seq_len",
			s.Source, len(s.Tokens), c.Train.SeqLen+1)
	}
	return &Data{Dataset: ds, Tokenizer: s.Tokenizer, Source: s.Source, UnigramEntropy: data.UnigramEntropy(s.Tokens)}, nil
}

// TrainBatches returns the run's training batches, shuffled from train.seed.
func (d *Data) TrainBatches(c *configs.Config) Batches {
	return NewSamplerBatches(d.Dataset.NewSampler(uint64(c.Train.Seed)), c.Train.MicroBatchSize, c.Train.SeqLen)
}

// EvalSet returns the validation windows, or nil when there are none.
func (d *Data) EvalSet(c *configs.Config) EvalSet {
	if d.Dataset.ValWindows() == 0 {
		return nil
	}
	return NewEvalSet(d.Dataset, c.Train.MicroBatchSize)
}
