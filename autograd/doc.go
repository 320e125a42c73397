// Package autograd is moetrain's compute core: tensors with gradients, a tape that
// records operations as they run (define-by-run), reverse-mode Backward, the
// differentiable ops a Mixtral-style model needs, and their kernels.
//
// Why define-by-run: MoE routing is data-dependent (the number of tokens each
// expert receives changes every step), which a static graph cannot express
// without padding. Ops run eagerly and append a backward closure to the Tape;
// Backward replays the tape in reverse.
//
// Storage: a Tensor owns a contiguous row-major slice ([]float32 for training,
// []float64 for gradient checks). Dense returns a zero-copy gorgonia.org/tensor
// view of it, and FromDense wraps one, so values interoperate with gorgonia
// (train.Inference hands weights and logits out as Dense).
//
// Lifetimes: parameters (NewParam) live until dropped and accumulate gradients
// across Backward calls until ZeroGrad. Tensors produced by a Tape are
// intermediates: their buffers return to the tape's pool on Tape.Reset, so a
// value needed past Reset must be copied (Tensor.Clone) first.
//
// Engines: an Engine owns what kernels share between ops — its cores (the
// calling goroutine plus one polling helper goroutine per extra core), the
// GEMM accounting, the scratch buffers of the tile GEMM and of attention,
// the RoPE tables and the kernel switches tests flip. Every Tape is bound to
// one (NewTapeOn; NewTape uses DefaultEngine, the one-process default), so
// ranks running as goroutines, two trainers in one process and parallel
// tests never share mutable compute state. Each GEMM part runs
// single-threaded, and every kernel that splits its work goes through the
// engine's SplitRange: the work is cut into a few chunks per core (MoE
// expert products into pieces, largest first) that the cores claim until
// none is left. The BLAS's own thread count (SetBLASThreads) is the one
// process-wide setting; it is 1 from start-up and nothing in moetrain
// changes it.
//
// Custom ops: Tape.Record lets another package put an op with its own
// backward on the tape (an all-to-all exchange, a fused adapter product, a
// precision cast), with GradOf to reach its inputs' gradients and GradCheck
// to test it. Every record carries its op's name and inputs: with
// CheckFinite, Backward names the op that first wrote a NaN or Inf into a
// gradient, and StartProfile/StopProfile time every op kind.
//
// Kernels: float32 products run on the package's own GEMM where the CPU has
// AVX-512 (a transposed B packed into 32-column panels, a plain B read in
// place, an 8x32 register tile that prefetches the next calls' operands),
// float64 ones and all products elsewhere on the BLAS; attention's block
// products take the same route, and plain loops when they are tiny. MoE
// experts with few rows read their weights into cache in one burst before
// their GEMM when the experts' weights are too many to stay cached. Every
// vector kernel has a Go form, and tests hold the two to the same bits (or,
// for the products, to a float64 reference). BENCHMARKS.md has the figures
// behind these choices.
//
// Dimension legend used in shape comments across moetrain:
// B batch, T sequence, N tokens (B*T), D model width, H heads, Hkv key/value
// heads, Dh head width, E experts, K experts per token, F expert hidden width,
// V vocabulary, M routed token slots (N*K).
package autograd
