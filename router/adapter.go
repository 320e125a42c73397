package router

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// GateAdapter adds a trainable term to the gate's logits: the low-rank
// adapter of the gate weight that LoRA fine-tuning attaches
// (layers.Model.AttachLoRA). The gate weight itself stays as it is.
type GateAdapter interface {
	// Delta maps the router input x [N, D] (after jitter) to a term [N, E]
	// added to x · gate^T. training and rng are Route's.
	Delta(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor
}

// SetGateAdapter makes Route add a's term to the gate logits; nil removes
// the adapter. The adapter's parameters are not in Params, which stays what
// a base checkpoint holds.
func (r *Router) SetGateAdapter(a GateAdapter) { r.adapt = a }

// GateAdapter returns the adapter SetGateAdapter set, or nil.
func (r *Router) GateAdapter() GateAdapter { return r.adapt }
