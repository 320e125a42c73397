package autograd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	cases := []struct {
		in, shape, want []int
	}{
		{[]int{2, 3}, []int{3, 2}, []int{3, 2}},
		{[]int{2, 3, 4}, []int{-1, 4}, []int{6, 4}},
		{[]int{2, 3, 4}, []int{2, -1}, []int{2, 12}},
		{[]int{5}, []int{1, 5, 1}, []int{1, 5, 1}},
		{[]int{1}, []int{-1}, []int{1}},
	}
	for _, c := range cases {
		x := param(rng, c.in...)
		tp := NewTape()
		v := tp.Reshape(x, c.shape...)
		if !sameShape(v.Shape(), c.want) {
			t.Errorf("Reshape(%v, %v) shape %v, want %v", c.in, c.shape, v.Shape(), c.want)
		}
		if &v.F64()[0] != &x.F64()[0] {
			t.Errorf("Reshape(%v, %v) copied the values", c.in, c.shape)
		}
		// Through a weighting op, so that the view's gradient is not uniform.
		f := func(tp *Tape, in []*Tensor) *Tensor {
			r := tp.Reshape(in[0], c.shape...)
			return tp.Mul(r, r)
		}
		checkOp(t, fmt.Sprint("Reshape", c.in, c.shape), f, x)
	}
	// A view of a view, both used: gradients from both reach x.
	x := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	x.SetRequiresGrad(true)
	tp := NewTape()
	v := tp.Reshape(x, 3, 2)
	w := tp.Reshape(v, 6)
	if err := tp.Backward(tp.Add(tp.Sum(tp.Mul(w, w)), tp.Sum(v))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if want := 2*x.At(i) + 1; x.GradAt(i) != want {
			t.Errorf("nested view: grad[%d] = %v, want %v", i, x.GradAt(i), want)
		}
	}
}

func TestReshapePanics(t *testing.T) {
	for _, shape := range [][]int{{4}, {-1, -1}, {-2, 3}, {0, -1}, {4, -1}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Reshape([2,3], %v) did not panic", shape)
				}
			}()
			NewTape().Reshape(New(Float64, 2, 3), shape...)
		})
	}
}

func TestTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	cases := []struct {
		shape, perm []int
	}{
		{[]int{3, 5}, []int{1, 0}},
		{[]int{3, 5}, []int{0, 1}},
		{[]int{1, 7}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{2, 0, 1}},
		{[]int{2, 3, 4}, []int{1, 0, 2}},
		{[]int{2, 3, 4}, []int{0, 2, 1}},
		{[]int{2, 1, 3}, []int{2, 1, 0}},
		{[]int{2, 3, 2, 3}, []int{0, 2, 1, 3}}, // [B,T,H,Dh] -> [B,H,T,Dh]
		{[]int{2, 3, 2, 3}, []int{3, 1, 0, 2}},
		{[]int{3, 1, 2, 5}, []int{1, 3, 2, 0}},
	}
	for _, c := range cases {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.Transpose(in[0], c.perm...) }
		x := param(rng, c.shape...)
		checkOp(t, fmt.Sprint("Transpose", c.shape, c.perm), f, x)
		out := NewNoGradTape().Transpose(x, c.perm...)
		shapeCheckTranspose(t, x, out, c.perm)
	}
	// Large enough for the parallel path, both dtypes, forward and backward.
	for _, dt := range []DType{Float64, Float32} {
		x := param(rng, 8, 64, 4, 33)
		if dt == Float32 {
			x = ToFloat32(x)
			x.SetRequiresGrad(true)
		}
		perm := []int{0, 2, 1, 3}
		tp := NewTape()
		out := tp.Transpose(x, perm...)
		shapeCheckTranspose(t, x, out, perm)
		back := tp.Transpose(out, 0, 2, 1, 3)
		if err := tp.Backward(tp.Sum(tp.Mul(back, back))); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < x.Len(); i++ {
			if x.GradAt(i) != 2*x.At(i) {
				t.Fatalf("%v: grad[%d] = %v, want %v", dt, i, x.GradAt(i), 2*x.At(i))
			}
		}
	}
}

// shapeCheckTranspose checks out = x.transpose(perm) element by element.
func shapeCheckTranspose(t *testing.T, x, out *Tensor, perm []int) {
	t.Helper()
	r := len(perm)
	want := make([]int, r)
	for i, p := range perm {
		want[i] = x.Shape()[p]
	}
	if !sameShape(out.Shape(), want) {
		t.Fatalf("Transpose(%v, %v) shape %v, want %v", x.Shape(), perm, out.Shape(), want)
	}
	idx := make([]int, r)
	for i := 0; i < out.Len(); i++ {
		rem := i
		for d := r - 1; d >= 0; d-- {
			idx[d] = rem % want[d]
			rem /= want[d]
		}
		xi := 0
		for d := 0; d < r; d++ { // x index: axis perm[i] takes idx[i]
			xi = xi*x.Shape()[d] + idx[shapeIndexOf(perm, d)]
		}
		if out.At(i) != x.At(xi) {
			t.Fatalf("Transpose(%v, %v)[%d] = %v, want %v", x.Shape(), perm, i, out.At(i), x.At(xi))
		}
	}
}

func shapeIndexOf(perm []int, d int) int {
	for i, p := range perm {
		if p == d {
			return i
		}
	}
	return -1
}

func TestTransposeValues(t *testing.T) {
	x := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	out := NewNoGradTape().Transpose(x, 1, 0)
	for i, w := range []float64{1, 4, 2, 5, 3, 6} {
		if out.At(i) != w {
			t.Errorf("Transpose[%d] = %v, want %v", i, out.At(i), w)
		}
	}
}

func TestConcatSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	shapes := [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 1, 3, 2}}
	for _, base := range shapes {
		for axis := range base {
			sizes := []int{1, 3, 2} // piece widths along axis
			var xs []*Tensor
			for _, s := range sizes {
				shape := append([]int(nil), base...)
				shape[axis] = s
				xs = append(xs, param(rng, shape...))
			}
			name := fmt.Sprint(base, " axis ", axis)
			concat := func(tp *Tape, in []*Tensor) *Tensor { return tp.Concat(axis, in...) }
			checkOp(t, "Concat"+name, concat, xs...)
			neg := func(tp *Tape, in []*Tensor) *Tensor { return tp.Concat(axis-len(base), in...) }
			checkOp(t, "Concat negative axis"+name, neg, xs...)

			shape := append([]int(nil), base...)
			shape[axis] = 6
			x := param(rng, shape...)
			for k := range sizes {
				piece := func(tp *Tape, in []*Tensor) *Tensor { return tp.Split(in[0], axis, sizes...)[k] }
				checkOp(t, fmt.Sprint("Split piece ", k, name), piece, x)
			}
			// Split then Concat back in another order weights the pieces
			// differently, so every piece's gradient path is exercised at once.
			mixed := func(tp *Tape, in []*Tensor) *Tensor {
				p := tp.Split(in[0], axis, sizes...)
				return tp.Concat(axis, p[2], p[0], p[1])
			}
			checkOp(t, "Split+Concat"+name, mixed, x)
			// Split and Concat are inverse.
			tp := NewNoGradTape()
			round := tp.Concat(axis, tp.Split(x, axis, sizes...)...)
			for i := 0; i < x.Len(); i++ {
				if round.At(i) != x.At(i) {
					t.Fatalf("Concat(Split(x)) %s differs at %d", name, i)
				}
			}
		}
	}
	// Concat with a constant (no gradient) piece.
	a, c := param(rng, 2, 3), RandN(rng, 1, 2, 2)
	checkOp(t, "Concat with constant", func(tp *Tape, in []*Tensor) *Tensor { return tp.Concat(1, in...) }, a, c)
}

func TestConcatSplitValues(t *testing.T) {
	tp := NewNoGradTape()
	a := FromSlice([]float64{1, 2, 3, 4}, 2, 2)
	b := FromSlice([]float64{5, 6}, 2, 1)
	c := tp.Concat(1, a, b)
	for i, w := range []float64{1, 2, 5, 3, 4, 6} {
		if c.At(i) != w {
			t.Errorf("Concat[%d] = %v, want %v", i, c.At(i), w)
		}
	}
	parts := tp.Split(c, 1, 1, 2)
	wants := [][]float64{{1, 3}, {2, 5, 4, 6}}
	for k, p := range parts {
		for i, w := range wants[k] {
			if p.At(i) != w {
				t.Errorf("Split piece %d [%d] = %v, want %v", k, i, p.At(i), w)
			}
		}
	}
	if s := tp.Split(c, 0, 0, 2)[0].Shape(); !sameShape(s, []int{0, 3}) {
		t.Errorf("empty Split piece shape %v, want [0 3]", s)
	}
}

func TestShapePanics(t *testing.T) {
	tp := NewTape()
	x := New(Float64, 2, 3)
	cases := map[string]func(){
		"transpose repeat":  func() { tp.Transpose(x, 0, 0) },
		"transpose rank":    func() { tp.Transpose(x, 0) },
		"concat empty":      func() { tp.Concat(0) },
		"concat off axis":   func() { tp.Concat(0, x, New(Float64, 2, 4)) },
		"concat rank":       func() { tp.Concat(0, x, New(Float64, 6)) },
		"concat axis range": func() { tp.Concat(2, x, x) },
		"split sum":         func() { tp.Split(x, 1, 1, 1) },
		"split negative":    func() { tp.Split(x, 1, 4, -1) },
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
