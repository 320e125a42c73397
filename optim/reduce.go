package optim

import (
	"sync"

	"github.com/moetrain/moetrain/autograd"
)

// blockLen is the size of the fixed blocks a reduction sums separately
// before adding the block sums in order, which makes the result independent
// of how blocks are spread over cores.
const blockLen = 1 << 14

// reduceGrainBlocks is the fewest blocks worth handing to another core.
const reduceGrainBlocks = 4

// reduceOp selects what a reduceJob computes over each block.
type reduceOp uint8

const (
	opSumSquares reduceOp = iota // sum of x*x, in float64
	opNonFinite                  // sum of x-x: 0 unless some x is NaN or Inf
	opScale                      // x *= scale in place; sums nothing
)

// reduceJob is one reduction over x, split into blocks.
type reduceJob[T autograd.Float] struct {
	x     []T
	op    reduceOp
	scale T
	part  []float64 // per-block results
}

// Pools of jobs keep ClipGradNorm and GradsFinite free of allocation in
// steady state while staying safe to call from several goroutines (ranks).
var (
	jobs32 = sync.Pool{New: func() any { return new(reduceJob[float32]) }}
	jobs64 = sync.Pool{New: func() any { return new(reduceJob[float64]) }}
)

func jobPool[T autograd.Float]() *sync.Pool {
	var z T
	if _, ok := any(z).(float64); ok {
		return &jobs64
	}
	return &jobs32
}

// reduce runs op over x and returns the in-order sum of the block results.
func reduce[T autograd.Float](e *autograd.Engine, x []T, op reduceOp, scale float64) float64 {
	blocks := (len(x) + blockLen - 1) / blockLen
	if blocks <= 1 {
		return reduceBlock(x, op, T(scale))
	}
	pool := jobPool[T]()
	j := pool.Get().(*reduceJob[T])
	j.x, j.op, j.scale = x, op, T(scale)
	if cap(j.part) < blocks {
		j.part = make([]float64, blocks)
	}
	j.part = j.part[:blocks]
	parallelRange(e, blocks, reduceGrainBlocks, j)
	var sum float64
	for _, s := range j.part {
		sum += s
	}
	j.x = nil
	pool.Put(j)
	return sum
}

// RunRange reduces blocks [lo, hi).
func (j *reduceJob[T]) RunRange(lo, hi int) {
	for b := lo; b < hi; b++ {
		j.part[b] = reduceBlock(j.x[b*blockLen:min((b+1)*blockLen, len(j.x))], j.op, j.scale)
	}
}

// reduceBlock applies op to one block.
func reduceBlock[T autograd.Float](x []T, op reduceOp, scale T) float64 {
	switch op {
	case opScale:
		for i := range x {
			x[i] *= scale
		}
		return 0
	case opNonFinite:
		var a0, a1, a2, a3 T
		i := 0
		for ; i+4 <= len(x); i += 4 {
			a0 += x[i] - x[i]
			a1 += x[i+1] - x[i+1]
			a2 += x[i+2] - x[i+2]
			a3 += x[i+3] - x[i+3]
		}
		for ; i < len(x); i++ {
			a0 += x[i] - x[i]
		}
		if (a0+a1)+(a2+a3) != 0 {
			return 1
		}
		return 0
	}
	return sumSquares(x)
}

// sumLanes is how many running sums sumSquares keeps: four AVX-512 registers
// of float64, enough independent adds to keep the kernel memory-bound.
const sumLanes = 32

// sumSquares returns the sum of x*x in float64. Element i goes to running sum
// i mod sumLanes and the sums are combined in a fixed tree, the same way on
// the vector and the Go path, so both give the same bits.
func sumSquares[T autograd.Float](x []T) float64 {
	var acc [sumLanes]float64
	done := 0
	if x32, ok := any(x).([]float32); ok {
		done = sumSquaresVec32(x32, &acc)
	}
	x = x[done:] // done is a multiple of sumLanes: element i still goes to lane i mod sumLanes
	for len(x) > 0 {
		n := min(len(x), sumLanes)
		for l, xv := range x[:n] {
			v := float64(xv)
			acc[l] += float64(v * v) // the conversion forbids a fused multiply-add
		}
		x = x[n:]
	}
	for w := sumLanes / 2; w > 0; w /= 2 {
		for l := 0; l < w; l++ {
			acc[l] += acc[l+w]
		}
	}
	return acc[0]
}
