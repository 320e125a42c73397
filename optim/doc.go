// Package optim updates parameters from their gradients: the AdamW optimizer
// with decoupled weight decay and checkpointable state, learning-rate
// schedules (linear warmup, then cosine, linear or constant), global
// gradient-norm clipping, a finiteness check that names the offending
// parameter, and ZeroGrad.
//
// Clipping comes two ways: ClipGradNorm scales the gradients in place, and
// GradNorm with ClipFactor and AdamW.StepScaled apply the same factor inside
// the update (bit for bit the same result, one pass over the gradients less),
// which is what the trainer does.
//
// Everything works on the []*autograd.Tensor parameter lists that layers
// return; gradients are read with autograd.Grads. Frozen parameters (that do
// not require grad) have no optimizer state, and the gradient norm, clipping
// and finiteness check leave them out: build the optimizer from
// layers.Model.Trainable. float32 is the training
// dtype; float64 parameters are supported the same way (for tests and checks).
//
// Kernels run one fused pass per parameter and split large parameters across
// cores with a small worker pool owned by this package, so a training step
// allocates nothing once the first step has sized the optimizer state.
// Element-wise results never depend on how work is split, and reductions (the
// gradient norm) sum fixed-size blocks in a fixed order, so runs are bitwise
// reproducible whatever GOMAXPROCS is.
//
// Dimension legend used in shape comments across moetrain:
// B batch, T sequence, N tokens (B*T), D model width, H heads, Dh head width,
// E experts, K experts per token, F expert hidden width, V vocabulary.
package optim
