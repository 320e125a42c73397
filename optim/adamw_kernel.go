package optim

import (
	"math"

	"github.com/moetrain/moetrain/autograd"
)

// adamwGrain is the fewest elements worth handing to another core: about
// 1 MiB of memory traffic in float32, against a hand-off of about a
// microsecond.
const adamwGrain = 1 << 15

// adamwCoeffs are one step's per-parameter constants, in float64.
type adamwCoeffs struct {
	b1, b2     float64 // moment decays
	decay      float64 // 1 - lr*wd, or 1 outside the decay group
	stepSize   float64 // lr / (1 - beta1^t)
	invSqrtBc2 float64 // 1 / sqrt(1 - beta2^t)
	eps        float64
	gradScale  float64 // every gradient is read as g*gradScale (clipping)
}

// adamwJob is the fused update of one parameter, kept in the optimizer so
// that splitting it across cores allocates nothing.
type adamwJob[T autograd.Float] struct {
	p, g, m, v                                       []T
	b1, ob1, b2, ob2, decay, step, ibc2, eps, gscale T
}

func runAdamW[T autograd.Float](e *autograd.Engine, j *adamwJob[T], s *slot, c adamwCoeffs) {
	j.p, j.g = autograd.Values[T](s.p), autograd.Grads[T](s.p)
	j.m, j.v = autograd.Values[T](s.m), autograd.Values[T](s.v)
	j.b1, j.ob1 = T(c.b1), T(1-c.b1)
	j.b2, j.ob2 = T(c.b2), T(1-c.b2)
	j.decay, j.step, j.ibc2, j.eps = T(c.decay), T(c.stepSize), T(c.invSqrtBc2), T(c.eps)
	j.gscale = T(c.gradScale)
	parallelRange(e, len(j.p), adamwGrain, j)
	j.p, j.g, j.m, j.v = nil, nil, nil, nil
}

// RunRange updates elements [lo, hi): m, v and p in one pass. The gradient
// is scaled as it is read (g*gscale, rounded to T as an in-place scaling of
// the gradient would be), so clipping costs no pass of its own.
func (j *adamwJob[T]) RunRange(lo, hi int) {
	b1, ob1, b2, ob2 := j.b1, j.ob1, j.b2, j.ob2
	decay, step, ibc2, eps, gscale := j.decay, j.step, j.ibc2, j.eps, j.gscale
	p, g, m, v := j.p[lo:hi], j.g[lo:hi], j.m[lo:hi], j.v[lo:hi]
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)] // one bounds check for all four
	if p32, ok := any(p).([]float32); ok {
		c := [9]float32{float32(b1), float32(ob1), float32(b2), float32(ob2), float32(decay), float32(step), float32(ibc2), float32(eps), float32(gscale)}
		done := adamwVec32(p32, any(g).([]float32), any(m).([]float32), any(v).([]float32), &c)
		p, g, m, v = p[done:], g[done:], m[done:], v[done:]
	}
	for i := range p {
		gi := g[i] * gscale
		mi := b1*m[i] + ob1*gi
		vi := b2*v[i] + ob2*gi*gi
		m[i], v[i] = mi, vi
		den := T(math.Sqrt(float64(vi)))*ibc2 + eps
		p[i] = p[i]*decay - step*mi/den
	}
}
