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
// view of it, and FromDense wraps one, so values interoperate with gorgonia.
//
// Lifetimes: parameters (NewParam) live until dropped and accumulate gradients
// across Backward calls until ZeroGrad. Tensors produced by a Tape are
// intermediates: their buffers return to the tape's pool on Tape.Reset, so a
// value needed past Reset must be copied (Tensor.Clone) first.
//
// Cores: Go owns them. Each GEMM part runs single-threaded, and
// every kernel that splits its work goes through SplitRange: the work is cut
// into a few chunks per core (MoE expert products into pieces, largest
// first) that the calling goroutine and one polling helper goroutine per
// extra core claim until none is left. GEMM time can be accounted
// (StartGEMMAccounting) to see how much of a step is GEMM.
//
// Kernels: float32 products run on the package's own GEMM where the CPU has
// AVX-512 (a transposed B packed into 32-column panels, a plain B read in
// place, an 8x32 register tile that prefetches the next calls' operands; 8-10%
// faster than OpenBLAS on a training step's shapes), float64 ones and all
// products elsewhere on the BLAS; attention's block products take the same
// route, and plain loops when they are tiny. MoE experts with few rows read
// their weights into cache in one burst before their GEMM when the experts'
// weights are too many to stay cached. Every
// vector kernel has a Go form, and tests hold the two to the same bits (or,
// for the products, to a float64 reference).
//
// Dimension legend used in shape comments across moetrain:
// B batch, T sequence, N tokens (B*T), D model width, H heads, Hkv key/value
// heads, Dh head width, E experts, K experts per token, F expert hidden width,
// V vocabulary, M routed token slots (N*K).
package autograd
