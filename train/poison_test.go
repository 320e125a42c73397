package train

import "github.com/moetrain/moetrain/autograd"

// The trainer's tests run with dirty float32 buffers full of NaN: see
// autograd.PoisonDirtyBuffers.
func init() { autograd.PoisonDirtyBuffers(true) }
