package main

import (
	"fmt"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
)

// checkBatchFits refuses a micro-batch of more sequences than the training
// split has windows, before any batch buffer or activation is allocated: such
// a batch only repeats windows, and one far beyond the data is a typo that
// would otherwise end in the kernel's out-of-memory killer.
func checkBatchFits(cfg *configs.Config, ds *train.Data) error {
	b, windows := cfg.Train.MicroBatchSize, ds.Dataset.TrainWindows()
	if b <= windows {
		return nil
	}
	return fmt.Errorf("train.micro_batch_size = %d sequences, but the training split of %s (%d tokens) holds only %d windows of train.seq_len+1 = %d tokens: set train.micro_batch_size to at most %d, or use more data",
		b, ds.Source, ds.Dataset.TrainTokens(), windows, cfg.Train.SeqLen+1, windows)
}
