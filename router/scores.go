package router

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// jitter returns a constant [N, D] of U(1-eps, 1+eps) factors.
func jitter[T autograd.Float](tp *autograd.Tape, x *autograd.Tensor, eps float64, rng *rand.Rand) *autograd.Tensor {
	j := tp.Alloc(x.DType(), x.Shape()...) // [N, D]
	for i, jv := 0, autograd.Values[T](j); i < len(jv); i++ {
		jv[i] = T(1 - eps + 2*eps*rng.Float64())
	}
	return j
}

// noiseTerm returns Shazeer's noise N(0,1) * softplus(x · noise^T) * std,
// [N, E], differentiable in x and the noise weight.
func noiseTerm[T autograd.Float](tp *autograd.Tape, x, noise *autograd.Tensor, std float64, rng *rand.Rand) *autograd.Tensor {
	scale := softplus(tp, tp.MatMul(x, noise, false, true)) // [N, E]
	g := tp.Alloc(x.DType(), scale.Shape()...)              // [N, E] N(0, std²) draws
	for i, gv := 0, autograd.Values[T](g); i < len(gv); i++ {
		gv[i] = T(rng.NormFloat64() * std)
	}
	return tp.Mul(scale, g)
}

// softplus returns log(1 + exp(z)) elementwise for z [N, E], computed stably
// as logsumexp(0, z) over a pair axis.
func softplus(tp *autograd.Tape, z *autograd.Tensor) *autograd.Tensor {
	n, e := z.Dim(0), z.Dim(1)
	zero := tp.Alloc(z.DType(), n, e, 1)               // [N, E, 1]
	pair := tp.Concat(2, zero, tp.Reshape(z, n, e, 1)) // [N, E, 2]
	return tp.LogSumExp(pair)                          // [N, E]
}

// logSigmoid returns log(sigmoid(z)) = z - softplus(z) for z [N, E].
func logSigmoid(tp *autograd.Tape, z *autograd.Tensor) *autograd.Tensor {
	return tp.Sub(z, softplus(tp, z))
}
