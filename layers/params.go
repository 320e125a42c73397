package layers

import "github.com/moetrain/moetrain/autograd"

// Trainable and frozen parameters. Every parameter the model holds is in
// Params and in its checkpoint; only the trainable ones (those that require
// grad) collect gradients, enter the gradient norm and have optimizer state.
// Freezing is the tensor's own flag, so a frozen weight used by an op gets
// no gradient buffer at all: the tape records nothing for an input that does
// not require grad. LoRA adapters (AttachLoRA) are not in Params, since a
// base checkpoint does not hold them, but they are in Trainable.

// Freeze marks every parameter whose name match accepts as frozen: it stops
// requiring grad, and a gradient it already holds reads as zero from now on.
// It returns how many parameters it froze that were trainable before.
// Freeze before building the optimizer (train.New does so from Trainable):
// an optimizer keeps the list it was given.
func (m *Model) Freeze(match func(name string) bool) int {
	n := 0
	for _, p := range m.params {
		if !match(p.Name) {
			continue
		}
		if p.RequiresGrad() {
			n++
		}
		p.SetRequiresGrad(false)
		p.ZeroGrad()
	}
	return n
}

// Unfreeze makes every parameter whose name match accepts trainable again and
// returns how many were frozen before.
func (m *Model) Unfreeze(match func(name string) bool) int {
	n := 0
	for _, p := range m.params {
		if match(p.Name) && !p.RequiresGrad() {
			p.SetRequiresGrad(true)
			n++
		}
	}
	return n
}

// Trainable returns the parameters that require grad, in Params order,
// followed by the LoRA adapters (Adapters) when attached: the list to give
// the optimizer, gradient clipping and ZeroGrad. It is a new slice on every
// call.
func (m *Model) Trainable() []*autograd.Tensor {
	out := make([]*autograd.Tensor, 0, len(m.params))
	for _, p := range append(m.params[:len(m.params):len(m.params)], m.Adapters()...) {
		if p.RequiresGrad() {
			out = append(out, p)
		}
	}
	return out
}

// NumTrainable returns the number of trainable parameter elements, adapters
// included.
func (m *Model) NumTrainable() int {
	n := 0
	for _, p := range m.Trainable() {
		n += p.Len()
	}
	return n
}
