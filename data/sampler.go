package data

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
	batchSampler
	d *Dataset
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
	s := &Sampler{d: d}
	s.batchSampler = batchSampler{order: o, seqLen: d.seqLen, what: "dataset (different data, split or sequence length)",
		copyWindow: func(w int, inputs, targets []int32) { d.copyWindow(d.trainStarts[w], inputs, targets) }}
	return s, nil
}
