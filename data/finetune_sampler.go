package data

import (
	"encoding/json"
	"fmt"
)

// FinetuneSampler draws training batches of a FinetuneSet the way Sampler does
// for a Dataset: each epoch visits every training window once in an order
// shuffled from (seed, epoch), a batch may run on into the next epoch, and with
// world > 1 ranks each Next consumes B windows per rank, rank r taking the r-th
// block of B. Its state is a SamplerState. It is not safe for concurrent use.
type FinetuneSampler struct {
	batchSampler
	s *FinetuneSet
}

// NewSampler returns the single-process sampler over s's training windows.
func (s *FinetuneSet) NewSampler(seed uint64) *FinetuneSampler {
	fs, _ := s.NewRankSampler(seed, 0, 1)
	return fs
}

// NewRankSampler returns rank's sampler of a data-parallel group of world ranks
// that share seed. It fails unless 0 <= rank < world. Its batches' targets are
// IgnoreTarget where the loss skips.
func (s *FinetuneSet) NewRankSampler(seed uint64, rank, world int) (*FinetuneSampler, error) {
	o, err := newWindowOrder(seed, s.TrainWindows(), rank, world)
	if err != nil {
		return nil, err
	}
	fs := &FinetuneSampler{s: s}
	fs.batchSampler = batchSampler{order: o, seqLen: s.seqLen,
		what:       "fine-tuning set (different data, split, sequence length or truncation)",
		copyWindow: func(w int, inputs, targets []int32) { s.train.copyWindow(w, s.seqLen, inputs, targets) }}
	return fs, nil
}

// FinetuneBatches yields batches of B windows from a FinetuneSampler, with its
// state as JSON: the train package's Batches.
type FinetuneBatches struct {
	fs              *FinetuneSampler
	inputs, targets []int32 // [B*T], reused: a batch is consumed before the next is drawn
}

// NewBatches returns Batches of b sequences drawn by fs. It fails if b < 1.
func (fs *FinetuneSampler) NewBatches(b int) (*FinetuneBatches, error) {
	if b < 1 {
		return nil, fmt.Errorf("data: batch size %d, want at least 1", b)
	}
	n := b * fs.s.seqLen
	return &FinetuneBatches{fs: fs, inputs: make([]int32, n), targets: make([]int32, n)}, nil
}

// Next returns inputs and targets, [B*T] each, valid until the next call.
func (fb *FinetuneBatches) Next() (inputs, targets []int32) {
	fb.fs.Fill(fb.inputs, fb.targets)
	return fb.inputs, fb.targets
}

// State returns the sampler's position as JSON.
func (fb *FinetuneBatches) State() ([]byte, error) { return json.Marshal(fb.fs.State()) }

// Restore continues from a State.
func (fb *FinetuneBatches) Restore(state []byte) error {
	var st SamplerState
	if err := json.Unmarshal(state, &st); err != nil {
		return fmt.Errorf("data: sampler state: %w", err)
	}
	return fb.fs.Restore(st)
}

// FinetuneEval yields a FinetuneSet's validation windows in stream order, in
// batches of B: the train package's EvalSet.
type FinetuneEval struct {
	s *FinetuneSet
	b int
}

// NewEval returns the validation windows of s in batches of b sequences. It
// fails if b < 1.
func (s *FinetuneSet) NewEval(b int) (*FinetuneEval, error) {
	if b < 1 {
		return nil, fmt.Errorf("data: batch size %d, want at least 1", b)
	}
	return &FinetuneEval{s: s, b: b}, nil
}

// Windows returns up to n batches (all when n <= 0) of inputs and targets, [rows*T]
// each, always the same ones; only the last batch may hold fewer than B rows.
func (fe *FinetuneEval) Windows(n int) (inputs, targets [][]int32) {
	T, total := fe.s.seqLen, fe.s.ValWindows()
	for w := 0; w < total && (n <= 0 || len(inputs) < n); w += fe.b {
		rows := min(fe.b, total-w)
		in, tg := make([]int32, rows*T), make([]int32, rows*T)
		for r := range rows {
			fe.s.val.copyWindow(w+r, T, in[r*T:(r+1)*T], tg[r*T:(r+1)*T])
		}
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	return inputs, targets
}
