package data

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Arrow's and Parquet's readers trust the sizes a file claims: a damaged IPC
// footer or message makes them index out of range (a panic), and a claimed
// body or page size is allocated before a byte of it is read. Every read of a
// stranger's Arrow or Parquet file therefore runs under guardArrow, with a
// boundedAllocator whose budget follows from the file's real size.

// maxExpansion is how many times its file size the Arrow buffers decoded from
// one file may hold at once: uncompressed IPC never needs more than the file
// itself, compressed IPC and Parquet pages expand by their compression ratio.
const maxExpansion = 64

// minArrowBudget is the least budget a file gets, for tiny files whose
// decoders keep fixed-size scratch buffers.
const minArrowBudget = 16 << 20

// claimTooLarge is the panic value of a boundedAllocator over its budget.
type claimTooLarge struct{ size, live, budget int64 }

// boundedAllocator allocates from Go's heap while the bytes it has handed out
// and not freed stay within budget; past it, it panics with claimTooLarge,
// which guardArrow turns into an error.
type boundedAllocator struct {
	mem    memory.Allocator
	live   atomic.Int64
	budget int64
}

// newBoundedAllocator returns an allocator for reading a file of fileSize bytes.
func newBoundedAllocator(fileSize int64) *boundedAllocator {
	budget := int64(minArrowBudget)
	if fileSize > 0 && fileSize < (1<<62)/maxExpansion {
		budget = max(budget, fileSize*maxExpansion)
	} else if fileSize > 0 {
		budget = 1 << 62
	}
	return &boundedAllocator{mem: memory.NewGoAllocator(), budget: budget}
}

func (a *boundedAllocator) take(size int) {
	if size < 0 {
		panic(claimTooLarge{int64(size), a.live.Load(), a.budget})
	}
	if live := a.live.Add(int64(size)); live > a.budget {
		a.live.Add(-int64(size))
		panic(claimTooLarge{int64(size), live - int64(size), a.budget})
	}
}

// Allocate returns size bytes, or panics with claimTooLarge over budget.
func (a *boundedAllocator) Allocate(size int) []byte {
	a.take(size)
	return a.mem.Allocate(size)
}

// Reallocate resizes b to size bytes, or panics with claimTooLarge over budget.
func (a *boundedAllocator) Reallocate(size int, b []byte) []byte {
	if size > len(b) {
		a.take(size - len(b))
	} else {
		a.live.Add(int64(size - len(b)))
	}
	return a.mem.Reallocate(size, b)
}

// Free returns b's bytes to the budget.
func (a *boundedAllocator) Free(b []byte) {
	a.live.Add(-int64(len(b)))
	a.mem.Free(b)
}

// damagedHint ends every error about a file Arrow or Parquet could not decode.
const damagedHint = "the file is damaged or not what its extension says; re-export it or set data.format"

// guardArrow runs fn, turning a panic inside Arrow or Parquet decoding into an
// error naming path, what was being read and what to do.
func guardArrow(path, what string, fn func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if c, ok := r.(claimTooLarge); ok {
			err = fmt.Errorf("data %s: %s asks for a buffer of %d bytes, more than the file's size allows "+
				"(%d bytes held, at most %d at once); %s", path, what, c.size, c.live, c.budget, damagedHint)
			return
		}
		err = fmt.Errorf("data %s: %s is damaged (%v); %s", path, what, r, damagedHint)
	}()
	return fn()
}
