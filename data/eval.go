package data

import "fmt"

// EvalIterator walks validation windows in a fixed order (stream order), so every
// evaluation sees the same data. It is not safe for concurrent use.
type EvalIterator struct {
	d     *Dataset
	idx   []int // indices into d.valStarts this iterator visits
	pos   int
	limit int
}

// Eval returns an iterator over all validation windows.
func (d *Dataset) Eval() *EvalIterator {
	it, _ := d.EvalShard(0, 1)
	return it
}

// EvalShard returns rank's share of the validation windows for a data-parallel
// group of world ranks: windows i with i mod world == rank. Shares differ by at
// most one window. It fails unless 0 <= rank < world.
func (d *Dataset) EvalShard(rank, world int) (*EvalIterator, error) {
	if world < 1 || rank < 0 || rank >= world {
		return nil, fmt.Errorf("data: rank %d of world %d", rank, world)
	}
	var idx []int
	for i := rank; i < len(d.valStarts); i += world {
		idx = append(idx, i)
	}
	return &EvalIterator{d: d, idx: idx, limit: len(idx)}, nil
}

// Windows returns the number of windows this iterator visits per pass.
func (it *EvalIterator) Windows() int { return it.limit }

// Limit caps the windows visited per pass at n (n <= 0 removes the cap).
func (it *EvalIterator) Limit(n int) {
	if n <= 0 || n > len(it.idx) {
		n = len(it.idx)
	}
	it.limit = n
	it.pos = min(it.pos, n)
}

// Reset starts the pass again from the first window.
func (it *EvalIterator) Reset() { it.pos = 0 }

// Next returns up to batch windows as inputs and targets, each [rows, T]
// flattened; rows is less than batch only for the last batch of a pass and 0 when
// the pass is over. It panics if batch < 1.
func (it *EvalIterator) Next(batch int) (inputs, targets []int32, rows int) {
	if batch < 1 {
		panic(fmt.Sprintf("data: EvalIterator.Next with batch %d", batch))
	}
	rows = min(batch, it.limit-it.pos)
	if rows <= 0 {
		return nil, nil, 0
	}
	T := it.d.seqLen
	inputs, targets = make([]int32, rows*T), make([]int32, rows*T)
	for r := range rows {
		it.d.copyWindow(it.d.valStarts[it.idx[it.pos+r]], inputs[r*T:(r+1)*T], targets[r*T:(r+1)*T])
	}
	it.pos += rows
	return inputs, targets, rows
}
