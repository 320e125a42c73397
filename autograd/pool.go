package autograd

import (
	"flag"
	"math"
	"math/bits"
)

// bufferPool keeps released buffers by size class, so that a training loop
// whose shapes repeat (or vary within a class, as MoE expert loads do)
// allocates nothing in steady state. Classes are multiples of 1/8 of the
// enclosing power of two, so a buffer wastes at most 12.5% of its capacity.
type bufferPool struct {
	eng    *Engine // clears large buffers on its cores; poisons dirty ones when set
	free32 map[int][][]float32
	free64 map[int][][]float64
	// idle counts, per size class, the Reset cycles since a buffer of that
	// class was last handed out; classes idle for maxIdleCycles are dropped so
	// that shapes seen once (a rare expert load) do not pin memory forever.
	idle32, idle64 map[int]int
}

// maxIdleCycles is how many Reset cycles an unused size class is kept.
const maxIdleCycles = 8

// sizeClass returns the capacity a buffer of n elements is allocated with.
func sizeClass(n int) int {
	if n <= 64 {
		return n
	}
	step := 1 << (bits.Len(uint(n)) - 4) // 1/8 of the enclosing power of two
	return (n + step - 1) / step * step
}

// get32 returns a zeroed buffer; large ones are cleared by all cores.
func (p *bufferPool) get32(n int) []float32 {
	b := p.get32Dirty(n)
	p.eng.clearParallel(b)
	return b
}

// clearParallel zeroes b, a large b on all cores.
func (e *Engine) clearParallel(b []float32) {
	if len(b) < minParallelWork {
		clear(b) // inline, and without the closure a split would allocate
		return
	}
	e.parallelFor(len(b), 1, func(lo, hi int) { clear(b[lo:hi]) })
}

// get32Dirty is get32 without zeroing: for outputs a kernel overwrites whole.
func (p *bufferPool) get32Dirty(n int) []float32 {
	c := sizeClass(n)
	if p.idle32 != nil {
		p.idle32[c] = 0
	}
	if l := p.free32[c]; len(l) > 0 {
		b := l[len(l)-1][:n]
		p.free32[c] = l[:len(l)-1]
		if p.eng.poison {
			poison(b)
		}
		return b
	}
	b := make([]float32, n, c)
	if p.eng.poison {
		poison(b)
	}
	return b
}

// PoisonDirtyBuffers makes every float32 buffer that the default engine's
// kernels take without zeroing (because they overwrite it whole) start as
// NaN, so that a kernel that leaves an element unwritten shows up as NaN
// (EngineOptions.PoisonDirty for other engines). A testing aid: it slows
// everything down; set it before any tape is used.
func PoisonDirtyBuffers(on bool) { DefaultEngine().poison = on }

// PoisonUnlessBenchmarking is PoisonDirtyBuffers for a test binary's
// TestMain, after flag.Parse: it poisons unless benchmarks were asked for
// (-test.bench), whose timings the poisoning would distort.
func PoisonUnlessBenchmarking() {
	f := flag.Lookup("test.bench")
	PoisonDirtyBuffers(f == nil || f.Value.String() == "")
}

func poison(b []float32) {
	nan := float32(math.NaN())
	for i := range b {
		b[i] = nan
	}
}

func (p *bufferPool) get64(n int) []float64 {
	c := sizeClass(n)
	if p.idle64 != nil {
		p.idle64[c] = 0
	}
	if l := p.free64[c]; len(l) > 0 {
		b := l[len(l)-1][:n]
		p.free64[c] = l[:len(l)-1]
		clear(b)
		return b
	}
	return make([]float64, n, c)
}

func (p *bufferPool) put32(b []float32) {
	if b == nil || cap(b) != sizeClass(cap(b)) {
		return
	}
	if p.free32 == nil {
		p.free32 = map[int][][]float32{}
	}
	p.free32[cap(b)] = append(p.free32[cap(b)], b)
}

func (p *bufferPool) put64(b []float64) {
	if b == nil || cap(b) != sizeClass(cap(b)) {
		return
	}
	if p.free64 == nil {
		p.free64 = map[int][][]float64{}
	}
	p.free64[cap(b)] = append(p.free64[cap(b)], b)
}

// put releases t's gradient unless borrowed, and its value unless t is a
// view, then clears t so that use after release fails loudly.
func (p *bufferPool) put(t *Tensor) {
	if !t.gradView {
		p.put32(t.g32)
		p.put64(t.g64)
	}
	if !t.isView() {
		p.put32(t.f32)
		p.put64(t.f64)
	}
	t.f32, t.f64, t.g32, t.g64 = nil, nil, nil, nil
}

// endCycle ages every size class by one Reset cycle and drops the buffers of
// classes unused for maxIdleCycles.
func (p *bufferPool) endCycle() {
	if p.idle32 == nil {
		p.idle32, p.idle64 = map[int]int{}, map[int]int{}
	}
	ageClasses(p.free32, p.idle32)
	ageClasses(p.free64, p.idle64)
}

func ageClasses[T Float](free map[int][][]T, idle map[int]int) {
	for c := range free {
		idle[c]++
		if idle[c] > maxIdleCycles {
			delete(free, c)
			delete(idle, c)
		}
	}
}
