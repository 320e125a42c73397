package layers

import "github.com/moetrain/moetrain/autograd"

// The layers' tests (the PyTorch golden test among them) run with dirty
// float32 buffers full of NaN: see autograd.PoisonDirtyBuffers.
func init() { autograd.PoisonDirtyBuffers(true) }
