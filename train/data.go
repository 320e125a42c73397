package train

import (
	"fmt"

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

func loadStream(c *configs.Config) (*data.Stream, error) {
	s, err := data.Load(data.LoadOptions{Input: c.Data.Path, Format: string(c.Data.Format), TextField: c.Data.TextField, Tokenizer: c.Data.Tokenizer})
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("data %s: %w", s.Source, err)
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
