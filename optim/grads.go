package optim

import (
	"fmt"
	"math"

	"github.com/moetrain/moetrain/autograd"
)

// GradNorm returns the global L2 norm of all gradients, accumulated in
// float64 over fixed blocks summed in a fixed order, so that the result does
// not depend on GOMAXPROCS. Parameters without a gradient buffer, and frozen
// ones (not requiring grad) whatever buffer they keep, contribute nothing; a
// NaN or Inf gradient gives a non-finite norm.
func GradNorm(params []*autograd.Tensor) float64 {
	return GradNormOn(autograd.DefaultEngine(), params)
}

// GradNormOn is GradNorm with its reductions on engine e's cores.
func GradNormOn(e *autograd.Engine, params []*autograd.Tensor) float64 {
	var sum float64
	for _, p := range params {
		if !hasLiveGrad(p) {
			continue
		}
		if p.DType() == autograd.Float64 {
			sum += reduce(e, autograd.Grads[float64](p), opSumSquares, 0)
		} else {
			sum += reduce(e, autograd.Grads[float32](p), opSumSquares, 0)
		}
	}
	return math.Sqrt(sum)
}

// ClipFactor is the factor that brings gradients of global norm norm down to
// maxNorm: maxNorm/norm when maxNorm > 0 and norm exceeds it, else 1 (also
// for a non-finite norm, which the caller must handle).
func ClipFactor(norm, maxNorm float64) float64 {
	if maxNorm <= 0 || !(norm > maxNorm) || math.IsInf(norm, 0) {
		return 1
	}
	return maxNorm / norm
}

// ClipGradNorm computes the global L2 norm of all gradients (GradNorm) and,
// when maxNorm > 0 and the norm exceeds it, scales every gradient in place by
// maxNorm/norm. It returns the norm before clipping. A non-finite norm (a NaN
// or Inf gradient) is returned as is and leaves the gradients untouched:
// check it, or GradsFinite, before stepping. A training loop that steps
// AdamW right after should rather pass ClipFactor to AdamW.StepScaled, which
// saves the pass that rewrites every gradient.
func ClipGradNorm(params []*autograd.Tensor, maxNorm float64) float64 {
	return ClipGradNormOn(autograd.DefaultEngine(), params, maxNorm)
}

// ClipGradNormOn is ClipGradNorm on engine e's cores.
func ClipGradNormOn(e *autograd.Engine, params []*autograd.Tensor, maxNorm float64) float64 {
	norm := GradNormOn(e, params)
	scale := ClipFactor(norm, maxNorm)
	if scale == 1 {
		return norm
	}
	for _, p := range params {
		if !hasLiveGrad(p) {
			continue
		}
		if p.DType() == autograd.Float64 {
			reduce(e, autograd.Grads[float64](p), opScale, scale)
		} else {
			reduce(e, autograd.Grads[float32](p), opScale, scale)
		}
	}
	return norm
}

// GradsFinite reports whether every gradient is free of NaN and Inf; if not,
// firstBad names the first parameter (in params order) with a bad value, or
// gives its index when it has no name. Parameters without a gradient buffer
// and frozen ones are skipped.
func GradsFinite(params []*autograd.Tensor) (ok bool, firstBad string) {
	return GradsFiniteOn(autograd.DefaultEngine(), params)
}

// GradsFiniteOn is GradsFinite on engine e's cores.
func GradsFiniteOn(e *autograd.Engine, params []*autograd.Tensor) (ok bool, firstBad string) {
	for i, p := range params {
		if !hasLiveGrad(p) {
			continue
		}
		var bad float64
		if p.DType() == autograd.Float64 {
			bad = reduce(e, autograd.Grads[float64](p), opNonFinite, 0)
		} else {
			bad = reduce(e, autograd.Grads[float32](p), opNonFinite, 0)
		}
		if bad != 0 {
			if p.Name == "" {
				return false, fmt.Sprintf("params[%d]", i)
			}
			return false, p.Name
		}
	}
	return true, ""
}

// hasLiveGrad reports whether p is trainable and holds a gradient buffer.
func hasLiveGrad(p *autograd.Tensor) bool { return p.RequiresGrad() && p.HasGrad() }

// ZeroGrad clears every parameter's gradient, keeping the buffers.
func ZeroGrad(params []*autograd.Tensor) {
	for _, p := range params {
		p.ZeroGrad()
	}
}
