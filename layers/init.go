package layers

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// newNormalParam returns a parameter of the given shape filled with N(0, std²)
// draws from rng: the usual transformer initialisation.
func newNormalParam(dt autograd.DType, name string, rng *rand.Rand, std float64, shape ...int) *autograd.Tensor {
	p := autograd.NewParam(dt, name, shape...)
	for i := 0; i < p.Len(); i++ {
		p.Set(i, rng.NormFloat64()*std)
	}
	return p
}

// newOnesParam returns a parameter filled with ones (norm weights).
func newOnesParam(dt autograd.DType, name string, shape ...int) *autograd.Tensor {
	p := autograd.NewParam(dt, name, shape...)
	for i := 0; i < p.Len(); i++ {
		p.Set(i, 1)
	}
	return p
}
