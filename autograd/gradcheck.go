package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GradFunc builds an output (any shape) from inputs on tp. Gradient checks call
// it repeatedly, so it must be deterministic (seed any randomness inside it).
type GradFunc func(tp *Tape, inputs []*Tensor) *Tensor

// GradCheck compares the analytic gradients of f with central finite
// differences in float64. The output is reduced to a scalar by a fixed random
// projection, so every output element is checked. inputs must be float64; the
// ones that require grad are checked. It returns the worst normwise relative
// error ||analytic - numeric|| / max(||analytic||, ||numeric||) over inputs.
func GradCheck(f GradFunc, inputs []*Tensor, eps float64) (float64, error) {
	for i, in := range inputs {
		if in.dtype != Float64 {
			return 0, fmt.Errorf("GradCheck: input %d is %v, want float64", i, in.dtype)
		}
	}
	var proj []float64
	scalar := func(tp *Tape) (*Tensor, *Tensor) {
		out := f(tp, inputs)
		if proj == nil {
			rng := rand.New(rand.NewPCG(7, 11))
			proj = make([]float64, out.Len())
			for i := range proj {
				proj[i] = rng.Float64()*2 - 1
			}
		}
		return out, tp.project(out, proj)
	}
	tp := NewTape()
	for _, in := range inputs {
		in.ZeroGrad()
	}
	_, loss := scalar(tp)
	if err := tp.Backward(loss); err != nil {
		return 0, err
	}
	analytic := make([][]float64, len(inputs))
	for i, in := range inputs {
		if in.requiresGrad {
			analytic[i] = append([]float64(nil), Grads[float64](in)...)
		}
	}
	tp.Reset()
	worst := 0.0
	ng := NewNoGradTape()
	for i, in := range inputs {
		if !in.requiresGrad {
			continue
		}
		x := in.f64
		var diff2, a2, n2 float64
		for j := range x {
			orig := x[j]
			x[j] = orig + eps
			_, lp := scalar(ng)
			fp := lp.f64[0]
			ng.Reset()
			x[j] = orig - eps
			_, lm := scalar(ng)
			fm := lm.f64[0]
			ng.Reset()
			x[j] = orig
			num := (fp - fm) / (2 * eps)
			d := analytic[i][j] - num
			diff2 += d * d
			a2 += analytic[i][j] * analytic[i][j]
			n2 += num * num
		}
		den := math.Max(math.Sqrt(max(a2, n2)), 1e-12)
		rel := math.Sqrt(diff2) / den
		if math.IsNaN(rel) {
			return math.Inf(1), fmt.Errorf("GradCheck: input %d: NaN gradient", i)
		}
		worst = max(worst, rel)
	}
	return worst, nil
}

// GradCheck32 runs f in float32 on a float32 copy of the float64 inputs and
// compares its outputs and gradients with the float64 run. It returns the worst
// normwise relative error over the output and every gradient.
func GradCheck32(f GradFunc, inputs []*Tensor) (float64, error) {
	run := func(ins []*Tensor) ([]float64, [][]float64, error) {
		tp := NewTape()
		out := f(tp, ins)
		proj := make([]float64, out.Len())
		rng := rand.New(rand.NewPCG(7, 11))
		for i := range proj {
			proj[i] = rng.Float64()*2 - 1
		}
		vals := make([]float64, out.Len())
		for i := range vals {
			vals[i] = out.At(i)
		}
		var p *Tensor
		if out.dtype == Float64 {
			p = tp.project(out, proj)
		} else {
			p32 := make([]float32, len(proj))
			for i, v := range proj {
				p32[i] = float32(v)
			}
			p = tp.project(out, p32)
		}
		for _, in := range ins {
			in.ZeroGrad()
		}
		if err := tp.Backward(p); err != nil {
			return nil, nil, err
		}
		grads := make([][]float64, len(ins))
		for i, in := range ins {
			if in.requiresGrad {
				grads[i] = make([]float64, in.Len())
				for j := range grads[i] {
					grads[i][j] = in.GradAt(j)
				}
			}
		}
		tp.Reset()
		return vals, grads, nil
	}
	ins32 := make([]*Tensor, len(inputs))
	for i, in := range inputs {
		ins32[i] = ToFloat32(in)
		ins32[i].requiresGrad = in.requiresGrad
	}
	v64, g64, err := run(inputs)
	if err != nil {
		return 0, err
	}
	v32, g32, err := run(ins32)
	if err != nil {
		return 0, err
	}
	worst := normRelErr(v32, v64)
	for i := range g64 {
		if g64[i] != nil {
			worst = max(worst, normRelErr(g32[i], g64[i]))
		}
	}
	return worst, nil
}

func normRelErr(a, b []float64) float64 {
	var d2, a2, b2 float64
	for i := range a {
		d := a[i] - b[i]
		d2 += d * d
		a2 += a[i] * a[i]
		b2 += b[i] * b[i]
	}
	return math.Sqrt(d2) / math.Max(math.Sqrt(max(a2, b2)), 1e-12)
}

// ToFloat32 returns a float32 copy of t's value (no gradient).
func ToFloat32(t *Tensor) *Tensor {
	out := New(Float32, t.shape...)
	for i := range out.f32 {
		out.f32[i] = float32(t.At(i))
	}
	out.Name = t.Name
	return out
}

// ToFloat64 returns a float64 copy of t's value (no gradient).
func ToFloat64(t *Tensor) *Tensor {
	out := New(Float64, t.shape...)
	for i := range out.f64 {
		out.f64[i] = t.At(i)
	}
	out.Name = t.Name
	return out
}

// project returns the scalar sum_i x_i * w_i, with w a constant of x's dtype.
func (tp *Tape) project(x *Tensor, w any) *Tensor {
	out := tp.alloc(x.dtype, 1)
	if x.dtype == Float64 {
		projectOp(tp, x, out, w.([]float64))
	} else {
		projectOp(tp, x, out, w.([]float32))
	}
	return out
}

func projectOp[T Float](tp *Tape, x, out *Tensor, w []T) {
	xv := Values[T](x)
	var s T
	for i, v := range xv {
		s += v * w[i]
	}
	Values[T](out)[0] = s
	tp.record("project", out, func() {
		g := Grads[T](out)[0]
		gx := gradOf[T](tp, x)
		for i := range gx {
			gx[i] += g * w[i]
		}
	}, x)
}

// RandN fills a new float64 tensor of the given shape with N(0, std²) values
// from a seeded generator: a helper for tests and initialisation.
func RandN(rng *rand.Rand, std float64, shape ...int) *Tensor {
	t := New(Float64, shape...)
	for i := range t.f64 {
		t.f64[i] = rng.NormFloat64() * std
	}
	return t
}
