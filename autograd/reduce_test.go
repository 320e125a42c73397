package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestReduceGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	for _, shape := range [][]int{{1}, {7}, {3, 5}, {2, 1, 3}, {2, 3, 1, 4}} {
		sum := func(tp *Tape, in []*Tensor) *Tensor { return tp.Sum(in[0]) }
		mean := func(tp *Tape, in []*Tensor) *Tensor { return tp.Mean(in[0]) }
		// Weighted before reducing, so that the input gradient is not uniform.
		sq := func(tp *Tape, in []*Tensor) *Tensor { return tp.Mean(tp.Mul(in[0], in[0])) }
		checkOp(t, fmt.Sprint("Sum", shape), sum, param(rng, shape...))
		checkOp(t, fmt.Sprint("Mean", shape), mean, param(rng, shape...))
		checkOp(t, fmt.Sprint("Mean x^2", shape), sq, param(rng, shape...))
		for axis := -1; axis < len(shape); axis++ {
			f := func(tp *Tape, in []*Tensor) *Tensor { return tp.SumAxis(in[0], axis) }
			checkOp(t, fmt.Sprint("SumAxis", shape, axis), f, param(rng, shape...))
		}
	}
}

func TestReduceValues(t *testing.T) {
	x := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	tp := NewNoGradTape()
	cases := []struct {
		name  string
		out   *Tensor
		shape []int
		want  []float64
	}{
		{"Sum", tp.Sum(x), []int{1}, []float64{21}},
		{"Mean", tp.Mean(x), []int{1}, []float64{3.5}},
		{"SumAxis 0", tp.SumAxis(x, 0), []int{3}, []float64{5, 7, 9}},
		{"SumAxis 1", tp.SumAxis(x, 1), []int{2}, []float64{6, 15}},
		{"SumAxis -1", tp.SumAxis(x, -1), []int{2}, []float64{6, 15}},
		{"SumAxis 1-D", tp.SumAxis(FromSlice([]float64{1, 2, 3}, 3), 0), []int{1}, []float64{6}},
		{"SumAxis middle", tp.SumAxis(FromSlice([]float64{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2), 1),
			[]int{2, 2}, []float64{4, 6, 12, 14}},
	}
	for _, c := range cases {
		if !sameShape(c.out.Shape(), c.shape) {
			t.Errorf("%s: shape %v, want %v", c.name, c.out.Shape(), c.shape)
		}
		for i, w := range c.want {
			if c.out.At(i) != w {
				t.Errorf("%s[%d] = %v, want %v", c.name, i, c.out.At(i), w)
			}
		}
	}
}

// TestReduceLarge checks the blocked, parallel paths against plain loops, and
// that float32 sums keep float64 accuracy.
func TestReduceLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	x := RandN(rng, 1, 70001)
	want := 0.0
	for _, v := range x.F64() {
		want += v
	}
	tp := NewNoGradTape()
	if got := tp.Sum(x).Item(); math.Abs(got-want) > 1e-9 {
		t.Errorf("Sum = %v, want %v", got, want)
	}
	x32 := ToFloat32(x)
	want32 := 0.0
	for _, v := range x32.F32() {
		want32 += float64(v)
	}
	if got := tp.Sum(x32).Item(); math.Abs(got-want32) > 1e-4*math.Abs(want32)+1e-3 {
		t.Errorf("Sum float32 = %v, want %v", got, want32)
	}
	// SumAxis on every axis of a large 3-D tensor, forward and backward.
	shape := []int{40, 37, 60}
	for axis := range shape {
		for _, dt := range []DType{Float64, Float32} {
			x := param(rng, shape...)
			if dt == Float32 {
				x = ToFloat32(x)
				x.SetRequiresGrad(true)
			}
			tp := NewTape()
			out := tp.SumAxis(x, axis)
			w := RandN(rng, 1, out.Shape()...)
			var loss *Tensor
			if dt == Float32 {
				loss = tp.project(out, ToFloat32(w).F32())
			} else {
				loss = tp.project(out, w.F64())
			}
			if err := tp.Backward(loss); err != nil {
				t.Fatal(err)
			}
			ref, gref := make([]float64, out.Len()), make([]float64, x.Len())
			outer, mid, inner := numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
			for o := 0; o < outer; o++ {
				for m := 0; m < mid; m++ {
					for i := 0; i < inner; i++ {
						xi := (o*mid+m)*inner + i
						ref[o*inner+i] += x.At(xi)
						gref[xi] = float64(reduceRound32(dt, w.At(o*inner+i)))
					}
				}
			}
			got := make([]float64, out.Len())
			for i := range got {
				got[i] = out.At(i)
			}
			tol := 1e-12
			if dt == Float32 {
				tol = 1e-5
			}
			if e := normRelErr(got, ref); e > tol {
				t.Errorf("SumAxis %d %v: relative error %.3g", axis, dt, e)
			}
			ewCheckGrad(t, fmt.Sprint("SumAxis ", axis, dt), x, gref, 0)
		}
	}
}

// reduceRound32 rounds v to float32 when dt is Float32.
func reduceRound32(dt DType, v float64) float64 {
	if dt == Float32 {
		return float64(float32(v))
	}
	return v
}

func TestReducePanics(t *testing.T) {
	tp := NewTape()
	cases := map[string]func(){
		"mean empty": func() { tp.Mean(New(Float64, 0)) },
		"axis range": func() { tp.SumAxis(New(Float64, 2, 3), 2) },
		"axis neg":   func() { tp.SumAxis(New(Float64, 2, 3), -3) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		})
	}
}
