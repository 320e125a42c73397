package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Sizes (elements, float32) swept by the elementwise benchmarks: from L1-sized
// to well past the last-level cache. b.SetBytes counts the bytes the op must
// move at least (inputs read, outputs written, gradients read and written),
// so MB/s reads as memory throughput.
var ewBenchSizes = []int{1 << 12, 1 << 16, 1 << 20, 1 << 22}

// ewBenchRows is the row width of the row-broadcast benchmarks ([N, D] + [D]).
const ewBenchRows = 1024

func ewBenchTensor(rng *rand.Rand, shape ...int) *Tensor {
	t := ToFloat32(RandN(rng, 1, shape...))
	t.SetRequiresGrad(true)
	return t
}

// ewBenchForward times f on a no-grad tape, reset every iteration so that
// the pool recycles the output buffer.
func ewBenchForward(b *testing.B, bytes int64, f func(tp *Tape) *Tensor) {
	tp := NewNoGradTape()
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		f(tp)
		tp.Reset()
	}
}

// ewBenchBackward runs f once on a recording tape, seeds its output gradient
// with ones and times the recorded backward closure alone.
func ewBenchBackward(b *testing.B, bytes int64, f func(tp *Tape) *Tensor) {
	tp := NewTape()
	out := f(tp)
	g := Grads[float32](out)
	for i := range g {
		g[i] = 1
	}
	back := tp.records[len(tp.records)-1].backward
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		back()
	}
}

func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range ewBenchSizes {
		x, y := ewBenchTensor(rng, n/ewBenchRows, ewBenchRows), ewBenchTensor(rng, n/ewBenchRows, ewBenchRows)
		row := ewBenchTensor(rng, ewBenchRows)
		same := func(tp *Tape) *Tensor { return tp.Add(x, y) }
		bcast := func(tp *Tape) *Tensor { return tp.Add(x, row) }
		// Same shape: read a, b, write out; backward reads g, updates da, db.
		b.Run(fmt.Sprintf("forward/same/n=%d", n), func(b *testing.B) { ewBenchForward(b, int64(12*n), same) })
		b.Run(fmt.Sprintf("backward/same/n=%d", n), func(b *testing.B) { ewBenchBackward(b, int64(20*n), same) })
		// [N, D] + [D]: read a, write out; backward reads g, updates da.
		b.Run(fmt.Sprintf("forward/row/n=%d", n), func(b *testing.B) { ewBenchForward(b, int64(8*n), bcast) })
		b.Run(fmt.Sprintf("backward/row/n=%d", n), func(b *testing.B) { ewBenchBackward(b, int64(12*n), bcast) })
	}
}

func BenchmarkSiLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range ewBenchSizes {
		x := ewBenchTensor(rng, n)
		f := func(tp *Tape) *Tensor { return tp.SiLU(x) }
		b.Run(fmt.Sprintf("forward/n=%d", n), func(b *testing.B) { ewBenchForward(b, int64(8*n), f) })
		b.Run(fmt.Sprintf("backward/n=%d", n), func(b *testing.B) { ewBenchBackward(b, int64(16*n), f) })
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range ewBenchSizes {
		gate, up := ewBenchTensor(rng, n), ewBenchTensor(rng, n)
		f := func(tp *Tape) *Tensor { return tp.SwiGLU(gate, up) }
		// Forward reads gate, up and writes out; backward reads g, gate, up
		// and updates dgate, dup.
		b.Run(fmt.Sprintf("forward/n=%d", n), func(b *testing.B) { ewBenchForward(b, int64(12*n), f) })
		b.Run(fmt.Sprintf("backward/n=%d", n), func(b *testing.B) { ewBenchBackward(b, int64(28*n), f) })
	}
}
