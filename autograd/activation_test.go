package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestActivationGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	unary := []struct {
		name string
		f    func(tp *Tape, x *Tensor) *Tensor
	}{
		{"Sigmoid", (*Tape).Sigmoid},
		{"SiLU", (*Tape).SiLU},
	}
	for _, shape := range [][]int{{1}, {7}, {3, 5}, {2, 1, 3}, {2, 3, 1, 5}} {
		for _, op := range unary {
			f := func(tp *Tape, in []*Tensor) *Tensor { return op.f(tp, in[0]) }
			x := param(rng, shape...)
			x.F64()[0] = 9 // far into saturation too
			checkOp(t, fmt.Sprint(op.name, shape), f, x)
		}
		swiglu := func(tp *Tape, in []*Tensor) *Tensor { return tp.SwiGLU(in[0], in[1]) }
		name := fmt.Sprint("SwiGLU", shape)
		checkOp(t, name, swiglu, param(rng, shape...), param(rng, shape...))
		checkOp(t, name+" gate only", swiglu, param(rng, shape...), RandN(rng, 1, shape...))
		checkOp(t, name+" up only", swiglu, RandN(rng, 1, shape...), param(rng, shape...))
		// The same tensor as gate and up: silu(x) * x.
		same := func(tp *Tape, in []*Tensor) *Tensor { return tp.SwiGLU(in[0], in[0]) }
		checkOp(t, name+" gate = up", same, param(rng, shape...))
	}
}

func TestActivationValues(t *testing.T) {
	xs := []float64{-800, -2, 0, 0.5, 3, 800}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for _, dt := range []DType{Float64, Float32} {
		x := FromSlice(xs, len(xs))
		up := FromSlice([]float64{1, 2, 3, 4, 5, 6}, len(xs))
		if dt == Float32 {
			x, up = ToFloat32(x), ToFloat32(up)
		}
		tp := NewNoGradTape()
		s, si, sw := tp.Sigmoid(x), tp.SiLU(x), tp.SwiGLU(x, up)
		tol := 1e-15
		if dt == Float32 {
			tol = 1e-6
		}
		for i, v := range xs {
			checks := []struct {
				name      string
				got, want float64
			}{
				{"Sigmoid", s.At(i), sig(v)},
				{"SiLU", si.At(i), v * sig(v)},
				{"SwiGLU", sw.At(i), v * sig(v) * float64(i+1)},
			}
			for _, c := range checks {
				if math.IsNaN(c.got) || math.Abs(c.got-c.want) > tol*(1+math.Abs(c.want)) {
					t.Errorf("%s %v (%v) = %v, want %v", c.name, dt, v, c.got, c.want)
				}
			}
		}
	}
	// Exact points: sigmoid(0) = 1/2, silu(0) = 0, saturation.
	x := FromSlice([]float64{0, -800, 800}, 3)
	s := NewNoGradTape().Sigmoid(x)
	for i, w := range []float64{0.5, 0, 1} {
		if s.At(i) != w {
			t.Errorf("Sigmoid(%v) = %v, want %v", x.At(i), s.At(i), w)
		}
	}
}

// TestActivationLarge runs the parallel paths on both dtypes and compares the
// fused SwiGLU with SiLU followed by Mul.
func TestActivationLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	for _, dt := range []DType{Float64, Float32} {
		g1, u1 := param(rng, 64, 1031), param(rng, 64, 1031)
		if dt == Float32 {
			g1, u1 = ToFloat32(g1), ToFloat32(u1)
		}
		g2, u2 := g1.Clone(), u1.Clone()
		for _, x := range []*Tensor{g1, u1, g2, u2} {
			x.SetRequiresGrad(true)
		}
		w := RandN(rng, 1, 64, 1031)
		var proj any = w.F64()
		if dt == Float32 {
			proj = ToFloat32(w).F32()
		}
		tp := NewTape()
		fused := tp.SwiGLU(g1, u1)
		plain := tp.Mul(tp.SiLU(g2), u2)
		if err := tp.Backward(tp.Add(tp.project(fused, proj), tp.project(plain, proj))); err != nil {
			t.Fatal(err)
		}
		tol := 1e-14
		if dt == Float32 {
			tol = 1e-6
		}
		pairs := []struct {
			name string
			a, b []float64
		}{
			{"value", activationValues(fused), activationValues(plain)},
			{"dgate", activationValues(g1.Grad()), activationValues(g2.Grad())},
			{"dup", activationValues(u1.Grad()), activationValues(u2.Grad())},
		}
		for _, p := range pairs {
			if e := normRelErr(p.a, p.b); e > tol {
				t.Errorf("SwiGLU vs SiLU*Mul %v %s: relative error %.3g", dt, p.name, e)
			}
		}
	}
}

func activationValues(x *Tensor) []float64 {
	v := make([]float64, x.Len())
	for i := range v {
		v[i] = x.At(i)
	}
	return v
}

func TestSwiGLUPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("SwiGLU on different shapes did not panic")
		}
	}()
	NewTape().SwiGLU(New(Float64, 2, 3), New(Float64, 3, 2))
}
