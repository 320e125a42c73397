package autograd

import (
	"runtime"
	"sync"
)

// Engine owns what the kernels share between ops: the helper goroutines that
// SplitRange hands chunks to, the GEMM accounting, the scratch buffers of the
// tile GEMM and of attention, the RoPE tables, and the kernel switches that
// tests flip. Nothing of it is process-global: ranks running as goroutines,
// two trainers in one process and parallel tests each use their own Engine,
// and a Tape is bound to one (NewTapeOn). An Engine may be used by several
// goroutines at once; a SplitRange that finds the helpers busy runs on fresh
// goroutines instead.
type Engine struct {
	cores   int // 0: runtime.GOMAXPROCS(0), read on each use
	pool    corePool
	account gemmAccounting
	ropes   sync.Map     // nnRopeKey -> *nnRopeEntry
	attn    [2]sync.Pool // *attnScratch[float32], *attnScratch[float64]
	tiled   sync.Pool    // *[]float32: one tile-GEMM call's packed panels
	poison  bool         // dirty buffers start as NaN (PoisonDirtyBuffers)

	// tilePrefetch lets the tile GEMM ask for the next calls' operands;
	// off, it is the reference the prefetching is measured against.
	tilePrefetch bool
	// packPlainB packs a plain B's full panels as a transposed B's: the
	// reference the in-place route is tested and benchmarked against.
	packPlainB bool
}

// EngineOptions configure NewEngine.
type EngineOptions struct {
	// Cores is how many cores the engine's kernels split work across
	// (the caller's goroutine and Cores-1 helpers); 0 follows
	// runtime.GOMAXPROCS. A rank of a multi-rank job running as a goroutine
	// gets its share of the machine here.
	Cores int
	// PoisonDirty makes every float32 buffer a kernel takes without zeroing
	// start as NaN, so that a kernel that leaves an element unwritten shows
	// up. A testing aid that slows everything down.
	PoisonDirty bool
}

// NewEngine returns an engine; its helper goroutines start on the first
// split and stop on Close. It panics if opts.Cores is negative.
func NewEngine(opts EngineOptions) *Engine {
	if opts.Cores < 0 {
		panic("autograd.NewEngine: negative core count")
	}
	e := &Engine{cores: opts.Cores, poison: opts.PoisonDirty, tilePrefetch: true}
	e.tiled.New = func() any { return new([]float32) }
	return e
}

// defaultEngine serves tapes made by NewTape and NewNoGradTape and the
// package-level SplitRange: the one-process default.
var defaultEngine = sync.OnceValue(func() *Engine { return NewEngine(EngineOptions{}) })

// DefaultEngine returns the engine that NewTape, NewNoGradTape and the
// package-level helpers use. Programs that run one model per process need no
// other; ranks, concurrent trainers and parallel tests make their own.
func DefaultEngine() *Engine { return defaultEngine() }

// Cores is the number of cores this engine splits a large job across.
func (e *Engine) Cores() int {
	if e.cores > 0 {
		return e.cores
	}
	return runtime.GOMAXPROCS(0)
}

// Close stops the engine's helper goroutines once no split is running. The
// engine stays usable: a later split starts helpers again.
func (e *Engine) Close() { e.pool.stop() }

// Cores is DefaultEngine().Cores().
func Cores() int { return DefaultEngine().Cores() }

// SplitRange is DefaultEngine().SplitRange.
func SplitRange(n, chunks int, r Ranger) { DefaultEngine().SplitRange(n, chunks, r) }

// ChunksFor is DefaultEngine().ChunksFor.
func ChunksFor(work, minChunk int) int { return DefaultEngine().ChunksFor(work, minChunk) }
