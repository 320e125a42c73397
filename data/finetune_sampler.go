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
	s     *FinetuneSet
	order windowOrder
	rows  []int // [B] windows of the current batch, reused
}

// NewSampler returns the single-process sampler over s's training windows.
func (s *FinetuneSet) NewSampler(seed uint64) *FinetuneSampler {
	fs, _ := s.NewRankSampler(seed, 0, 1)
	return fs
}

// NewRankSampler returns rank's sampler of a data-parallel group of world ranks
// that share seed. It fails unless 0 <= rank < world.
func (s *FinetuneSet) NewRankSampler(seed uint64, rank, world int) (*FinetuneSampler, error) {
	o, err := newWindowOrder(seed, s.TrainWindows(), rank, world)
	if err != nil {
		return nil, err
	}
	return &FinetuneSampler{s: s, order: o}, nil
}

// State returns the sampler's position.
func (fs *FinetuneSampler) State() SamplerState { return fs.order.st }

// Epoch returns the number of completed epochs.
func (fs *FinetuneSampler) Epoch() int { return fs.order.st.Epoch }

// Restore moves the sampler to st. It fails if st was taken on a set with a
// different number of training windows or is out of range.
func (fs *FinetuneSampler) Restore(st SamplerState) error {
	return fs.order.restore(st, "fine-tuning set (different data, split, sequence length or truncation)")
}

// Next returns the next batch of B windows for this rank: inputs and targets,
// each [B, T] flattened row-major, targets IgnoreTarget where the loss skips.
// It panics if batch < 1.
func (fs *FinetuneSampler) Next(batch int) (inputs, targets []int32) {
	if batch < 1 {
		panic(fmt.Sprintf("data: FinetuneSampler.Next with batch %d", batch))
	}
	T := fs.s.seqLen
	inputs, targets = make([]int32, batch*T), make([]int32, batch*T)
	fs.Fill(inputs, targets)
	return inputs, targets
}

// Fill is Next writing into caller-owned inputs and targets ([B, T] each, B =
// len(inputs)/T). It panics if the lengths differ or are not a positive multiple of T.
func (fs *FinetuneSampler) Fill(inputs, targets []int32) {
	T := fs.s.seqLen
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%T != 0 {
		panic(fmt.Sprintf("data: FinetuneSampler.Fill with %d inputs and %d targets for T = %d", len(inputs), len(targets), T))
	}
	fs.rows = fs.order.rows(len(inputs)/T, fs.rows[:0])
	for row, w := range fs.rows {
		fs.s.train.copyWindow(w, T, inputs[row*T:(row+1)*T], targets[row*T:(row+1)*T])
	}
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
