package data

import (
	"fmt"

	"github.com/moetrain/moetrain/data/internal/rng"
)

// windowOrder is the order in which a sampler visits a set's training
// windows, shared by Sampler and FinetuneSampler: each epoch visits every
// window once, shuffled from (seed, epoch); a batch that runs past the end of
// an epoch continues into the next one. With world > 1 ranks, every rank steps
// through the same order and each batch consumes B windows per rank; rank r
// takes the r-th block of B.
type windowOrder struct {
	rank, world int
	st          SamplerState
	perm        []int32 // window order of st.Epoch
	permEpoch   int     // epoch perm was made for; -1 for none
}

// newWindowOrder returns rank's order over windows windows. It fails unless
// 0 <= rank < world.
func newWindowOrder(seed uint64, windows, rank, world int) (windowOrder, error) {
	if world < 1 || rank < 0 || rank >= world {
		return windowOrder{}, fmt.Errorf("data: rank %d of world %d", rank, world)
	}
	return windowOrder{rank: rank, world: world, permEpoch: -1, st: SamplerState{Seed: seed, Windows: windows}}, nil
}

// restore moves the order to st, taken on a set of st.Windows windows; what
// names this set's kind and what tells it apart, for the error.
func (o *windowOrder) restore(st SamplerState, what string) error {
	if st.Windows != o.st.Windows {
		return fmt.Errorf("data: sampler state is for %d training windows, this %s has %d", st.Windows, what, o.st.Windows)
	}
	if st.Epoch < 0 || st.Position < 0 || st.Position >= st.Windows {
		return fmt.Errorf("data: sampler state epoch %d position %d is out of range", st.Epoch, st.Position)
	}
	o.st = st
	return nil
}

// rows draws one batch of B windows per rank and returns, for this rank's
// rows 0..B-1 in order, the windows they take, appended to dst.
func (o *windowOrder) rows(batch int, dst []int) []int {
	for i := range batch * o.world {
		w := o.next()
		if row := i - o.rank*batch; row >= 0 && row < batch {
			dst = append(dst, w)
		}
	}
	return dst
}

// next returns the next window index and advances the state.
func (o *windowOrder) next() int {
	if o.permEpoch != o.st.Epoch {
		o.perm = shuffled(o.st.Windows, rng.Mix(o.st.Seed, uint64(o.st.Epoch)))
		o.permEpoch = o.st.Epoch
	}
	w := int(o.perm[o.st.Position])
	o.st.Position++
	if o.st.Position == o.st.Windows {
		o.st.Epoch++
		o.st.Position = 0
	}
	return w
}

// shuffled returns a permutation of [0, n) drawn from seed.
func shuffled(n int, seed uint64) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	rng.New(seed).Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// batchSampler is what Sampler and FinetuneSampler share: a windowOrder and
// the batches drawn from it. copyWindow writes window w's T inputs and
// targets; what names the set for errors.
type batchSampler struct {
	order      windowOrder
	seqLen     int
	copyWindow func(w int, inputs, targets []int32)
	what       string // the set's kind and what tells two apart, for Restore's error
	rows       []int  // [B] windows of the current batch, reused
}

// State returns the sampler's position.
func (b *batchSampler) State() SamplerState { return b.order.st }

// Epoch returns the number of completed epochs.
func (b *batchSampler) Epoch() int { return b.order.st.Epoch }

// Restore moves the sampler to st. It fails if st was taken on a set with a
// different number of training windows or is out of range.
func (b *batchSampler) Restore(st SamplerState) error { return b.order.restore(st, b.what) }

// Next returns the next batch of B windows for this rank: inputs and targets,
// each [B, T] flattened row-major. It panics if batch < 1.
func (b *batchSampler) Next(batch int) (inputs, targets []int32) {
	if batch < 1 {
		panic(fmt.Sprintf("data: sampler Next with batch %d", batch))
	}
	inputs, targets = make([]int32, batch*b.seqLen), make([]int32, batch*b.seqLen)
	b.Fill(inputs, targets)
	return inputs, targets
}

// Fill is Next writing into caller-owned inputs and targets ([B, T] each, B =
// len(inputs)/T). It panics if the lengths differ or are not a positive
// multiple of T.
func (b *batchSampler) Fill(inputs, targets []int32) {
	T := b.seqLen
	if len(inputs) != len(targets) || len(inputs) == 0 || len(inputs)%T != 0 {
		panic(fmt.Sprintf("data: sampler Fill with %d inputs and %d targets for T = %d", len(inputs), len(targets), T))
	}
	b.rows = b.order.rows(len(inputs)/T, b.rows[:0])
	for row, w := range b.rows {
		b.copyWindow(w, inputs[row*T:(row+1)*T], targets[row*T:(row+1)*T])
	}
}
