package autograd

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkMatMul compares the MatMul op with the raw BLAS call it wraps, in
// float32, over square sizes and MoE expert-like shapes. Each case reports
// GFLOP/s (2·M·N·K per product; three products forward plus backward).
//
// Variants, per shape (blas=T is the BLAS's own thread count for the run):
//
//	sgemm/blas=T    one direct sgemm call into a preallocated C
//	gemm/blas=T     the package's gemm dispatcher (any splitting it does)
//	op/blas=T       tp.MatMul on a no-grad tape, Reset every iteration, pool warm
//	op-cold/blas=T  tp.MatMul on a fresh tape each iteration (C freshly allocated)
//	fwdbwd-sgemm/blas=T  the three sgemm calls of forward and backward, direct
//	fwdbwd-op/blas=T     tp.MatMul forward plus its backward closure, Reset each iteration
//	paired/blas=T   op and sgemm timed alternately in each iteration; reports
//	                op/direct, the ratio of their best times' throughputs
//	paired-default  the same, op at blas=1 (Go splits the product across
//	                cores) against sgemm at blas=NumCPU (OpenBLAS threads).
//	                OpenBLAS's helper threads keep spinning for a while after
//	                each multi-threaded call and slow the op call that follows,
//	                so run it for 40 or more iterations: the best op time
//	                then comes from a call they did not disturb
//	clear           zeroing M·N floats, alone: what a pooled buffer that must
//	                start at zero costs (the output's gradient in backward)
//	alloc           a fresh make of M·N floats with every page touched, alone
//
// The BLAS thread count is left at 1, the package's start-up setting. In the
// pure Go build SetBLASThreads does nothing, so blas=T only labels the run.
func BenchmarkMatMul(b *testing.B) {
	defer SetBLASThreads(1)
	threads := []int{1}
	if c := runtime.NumCPU(); c > 1 {
		threads = append(threads, c)
	}
	for _, s := range mmBenchShapes {
		m, k, n := s[0], s[1], s[2]
		name := fmt.Sprintf("M=%d,K=%d,N=%d", m, k, n)
		if m == k && k == n {
			name = fmt.Sprintf("n=%d", n)
		}
		c := newMMBenchCase(m, k, n)
		for _, t := range threads {
			for _, v := range mmBenchVariants {
				b.Run(fmt.Sprintf("%s/%s/blas=%d", name, v.name, t), func(b *testing.B) {
					SetBLASThreads(t)
					v.run(b, c)
				})
			}
		}
		if len(threads) > 1 {
			b.Run(name+"/paired-default", func(b *testing.B) { mmBenchPaired(b, c, 1, threads[len(threads)-1]) })
		}
		b.Run(name+"/clear", func(b *testing.B) { mmBenchClear(b, c) })
		b.Run(name+"/alloc", func(b *testing.B) { mmBenchAlloc(b, c) })
	}
}

// mmBenchShapes are {M, K, N}: square sizes, then expert-like shapes
// (tokens routed to one expert × model width × expert hidden width).
var mmBenchShapes = [][3]int{
	{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{512, 256, 512}, {2048, 256, 1024},
}

var mmBenchVariants = []struct {
	name string
	run  func(*testing.B, *mmBenchCase)
}{
	{"sgemm", mmBenchSgemm},
	{"gemm", mmBenchGemm},
	{"op", mmBenchOp},
	{"op-cold", mmBenchOpCold},
	{"fwdbwd-sgemm", mmBenchFwdBwdSgemm},
	{"fwdbwd-op", mmBenchFwdBwdOp},
	{"paired", func(b *testing.B, c *mmBenchCase) { mmBenchPaired(b, c, 0, 0) }},
}

// mmBenchCase holds float32 operands a [M,K], b [K,N] that require grad, and
// preallocated buffers for the direct calls.
type mmBenchCase struct {
	m, k, n    int
	a, b       *Tensor
	c, dc      []float32 // [M, N] output and its (all-ones) gradient
	da, db     []float32 // [M, K], [K, N]
	flopsOnePr float64   // 2·M·N·K
}

func newMMBenchCase(m, k, n int) *mmBenchCase {
	rng := rand.New(rand.NewPCG(uint64(m), uint64(n)))
	c := &mmBenchCase{m: m, k: k, n: n,
		a: ToFloat32(RandN(rng, 1, m, k)), b: ToFloat32(RandN(rng, 1, k, n)),
		c: make([]float32, m*n), dc: make([]float32, m*n),
		da: make([]float32, m*k), db: make([]float32, k*n),
		flopsOnePr: 2 * float64(m) * float64(n) * float64(k),
	}
	for i := range c.dc {
		c.dc[i] = 1
	}
	return c
}

func mmBenchReport(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

func mmBenchSgemm(b *testing.B, c *mmBenchCase) {
	av, bv := c.a.F32(), c.b.F32()
	sgemm(false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n) // warm the BLAS
	b.ReportAllocs()
	for b.Loop() {
		sgemm(false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n)
	}
	mmBenchReport(b, c.flopsOnePr)
}

func mmBenchGemm(b *testing.B, c *mmBenchCase) {
	av, bv := c.a.F32(), c.b.F32()
	gemm(DefaultEngine(), false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n)
	b.ReportAllocs()
	for b.Loop() {
		gemm(DefaultEngine(), false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n)
	}
	mmBenchReport(b, c.flopsOnePr)
}

func mmBenchOp(b *testing.B, c *mmBenchCase) {
	tp := NewNoGradTape()
	tp.MatMul(c.a, c.b, false, false) // fill the pool: steady state reuses one buffer
	tp.Reset()
	b.ReportAllocs()
	for b.Loop() {
		tp.MatMul(c.a, c.b, false, false)
		tp.Reset()
	}
	mmBenchReport(b, c.flopsOnePr)
}

func mmBenchOpCold(b *testing.B, c *mmBenchCase) {
	b.ReportAllocs()
	for b.Loop() {
		NewNoGradTape().MatMul(c.a, c.b, false, false)
	}
	mmBenchReport(b, c.flopsOnePr)
}

// mmBenchFwdBwdSgemm makes the same three calls as MatMul's forward and
// backward: C = A·B, dA += dC·Bᵀ, dB += Aᵀ·dC.
func mmBenchFwdBwdSgemm(b *testing.B, c *mmBenchCase) {
	av, bv := c.a.F32(), c.b.F32()
	step := func() {
		sgemm(false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n)
		sgemm(false, true, c.m, c.k, c.n, 1, c.dc, c.n, bv, c.n, 1, c.da, c.k)
		sgemm(true, false, c.k, c.n, c.m, 1, av, c.k, c.dc, c.n, 1, c.db, c.n)
	}
	step()
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	mmBenchReport(b, 3*c.flopsOnePr)
}

func mmBenchFwdBwdOp(b *testing.B, c *mmBenchCase) {
	a, bt := c.a.Clone(), c.b.Clone() // own gradient buffers
	a.SetRequiresGrad(true)
	bt.SetRequiresGrad(true)
	tp := NewTape()
	step := func() {
		out := tp.MatMul(a, bt, false, false)
		copy(gradOf[float32](tp, out), c.dc)
		tp.records[len(tp.records)-1].backward()
		tp.Reset()
	}
	step()
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
	mmBenchReport(b, 3*c.flopsOnePr)
}

func mmBenchClear(b *testing.B, c *mmBenchCase) {
	b.SetBytes(int64(4 * len(c.c)))
	for b.Loop() {
		clear(c.c)
	}
}

var mmBenchSink []float32

func mmBenchAlloc(b *testing.B, c *mmBenchCase) {
	b.SetBytes(int64(4 * len(c.c)))
	b.ReportAllocs()
	for b.Loop() {
		s := make([]float32, len(c.c))
		for i := 0; i < len(s); i += 1024 { // touch every 4 KiB page, as a GEMM writing C would
			s[i] = 1
		}
		mmBenchSink = s
	}
}

// mmBenchPaired alternates one op call and one direct sgemm call per
// iteration, swapping their order each time, so that both see the same load
// on a shared machine. Each side's best (shortest) time gives its GFLOP/s;
// op/direct is their ratio. opThreads and directThreads set the BLAS thread
// count for each side (0 leaves it as the caller set it).
func mmBenchPaired(b *testing.B, c *mmBenchCase, opThreads, directThreads int) {
	av, bv := c.a.F32(), c.b.F32()
	tp := NewNoGradTape()
	op := func() time.Duration {
		if opThreads > 0 {
			SetBLASThreads(opThreads)
		}
		t0 := time.Now()
		tp.MatMul(c.a, c.b, false, false)
		tp.Reset()
		return time.Since(t0)
	}
	direct := func() time.Duration {
		if directThreads > 0 {
			SetBLASThreads(directThreads)
		}
		t0 := time.Now()
		sgemm(false, false, c.m, c.n, c.k, 1, av, c.k, bv, c.n, 0, c.c, c.n)
		return time.Since(t0)
	}
	op()
	direct()
	bestOp, bestDirect := time.Duration(1<<62), time.Duration(1<<62)
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			bestOp = min(bestOp, op())
			bestDirect = min(bestDirect, direct())
		} else {
			bestDirect = min(bestDirect, direct())
			bestOp = min(bestOp, op())
		}
		i++
	}
	b.ReportMetric(c.flopsOnePr/float64(bestOp.Nanoseconds()), "op-GFLOP/s")
	b.ReportMetric(c.flopsOnePr/float64(bestDirect.Nanoseconds()), "direct-GFLOP/s")
	b.ReportMetric(float64(bestDirect)/float64(bestOp), "op/direct")
}
