package data

import "fmt"

// SamplerState is where a Sampler stands; save it with a checkpoint and Restore it
// to continue with exactly the batches that would have come next.
type SamplerState struct {
	Seed     uint64 `json:"seed"`     // shuffle seed; epoch e is shuffled with seed mixed with e
	Epoch    int    `json:"epoch"`    // epochs completed
	Position int    `json:"position"` // windows consumed (by all ranks) in the current epoch
	Windows  int    `json:"windows"`  // training windows per epoch, checked on Restore
}

// Sampler draws training batches: each epoch visits every training window once
// in an order shuffled from (seed, epoch); a batch that runs past the end of an
// epoch continues into the next one. With world > 1 ranks, every rank steps
// through the same order and each Next consumes B windows per rank; rank r takes
// the r-th block of B. A Sampler is not safe for concurrent use.
type Sampler struct {
	d     *Dataset
	order windowOrder
	rows  []int // [B] windows of the current batch, reused
}

// NewSampler returns the single-process sampler over d's training windows.
func (d *Dataset) NewSampler(seed uint64) *Sampler {
	s, _ := d.NewRankSampler(seed, 0, 1)
	return s
}

// NewRankSampler returns rank's sampler of a data-parallel group of world ranks
// that share seed. It fails unless 0 <= rank < world.
func (d *Dataset) NewRankSampler(seed uint64, rank, world int) (*Sampler, error) {
	o, err := newWindowOrder(seed, d.TrainWindows(), rank, world)
	if err != nil {
		return nil, err
	}
	return &Sampler{d: d, order: o}, nil
}

// State returns the sampler's position.
func (s *Sampler) State() SamplerState { return s.order.st }

// Epoch returns the number of completed epochs.
func (s *Sampler) Epoch() int { return s.order.st.Epoch }

// Restore moves the sampler to st. It fails if st was taken on a dataset with a
// different number of training windows or is out of range.
func (s *Sampler) Restore(st SamplerState) error {
	return s.order.restore(st, "dataset (different data, split or sequence length)")
}

// Next returns the next batch of B windows for this rank: inputs and targets, each
// [B, T] flattened row-major. It panics if batch < 1.
func (s *Sampler) Next(batch int) (inputs, targets []int32) {
	if batch < 1 {
		panic(fmt.Sprintf("data: Sampler.Next with batch %d", batch))
	}
	T := s.d.seqLen
	inputs, targets = make([]int32, batch*T), make([]int32, batch*T)
	s.Fill(inputs, targets)
	return inputs, targets
}

// Fill is Next writing into caller-owned inputs and targets ([B, T] each, B =
// len(inputs)/T). It panics if the lengths differ or are not a positive multiple of T.
func (s *Sampler) Fill(inputs, targets []int32) {
	T := s.d.seqLen
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%T != 0 {
		panic(fmt.Sprintf("data: Sampler.Fill with %d inputs and %d targets for T = %d", len(inputs), len(targets), T))
	}
	s.rows = s.order.rows(len(inputs)/T, s.rows[:0])
	for row, w := range s.rows {
		s.d.copyWindow(s.d.trainStarts[w], inputs[row*T:(row+1)*T], targets[row*T:(row+1)*T])
	}
}
