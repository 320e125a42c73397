package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ewShapePairs are operand shapes for the broadcasting ops: equal, row and
// column broadcasts, both sides broadcast, size-1 dims, odd sizes, rank 1-4.
var ewShapePairs = [][2][]int{
	{{3, 4}, {3, 4}},
	{{7}, {7}},
	{{3, 5}, {5}},
	{{5}, {3, 5}},
	{{4, 3}, {4, 1}},
	{{3, 1}, {1, 4}},
	{{1}, {2, 3}},
	{{2, 3}, {1}},
	{{2, 3, 1}, {3, 5}},
	{{2, 1, 3, 1}, {1, 4, 1, 3}},
	{{2, 3, 4}, {2, 1, 4}},
	{{2, 3, 4}, {1, 3, 1}},
	{{1, 1}, {1, 1}},
	{{1, 5, 1}, {5, 1}},
}

func TestBinaryGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ops := []struct {
		name string
		f    func(tp *Tape, a, b *Tensor) *Tensor
	}{
		{"Add", (*Tape).Add},
		{"Sub", (*Tape).Sub},
		{"Mul", (*Tape).Mul},
	}
	for _, op := range ops {
		for _, s := range ewShapePairs {
			name := fmt.Sprintf("%s%v%v", op.name, s[0], s[1])
			f := func(tp *Tape, in []*Tensor) *Tensor { return op.f(tp, in[0], in[1]) }
			checkOp(t, name, f, param(rng, s[0]...), param(rng, s[1]...))
			// Only one side requiring grad.
			b := RandN(rng, 1, s[1]...)
			checkOp(t, name+" a only", f, param(rng, s[0]...), b)
		}
	}
}

func TestScaleGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][]int{{1}, {7}, {3, 5}, {2, 1, 3}} {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.Scale(in[0], -2.5) }
		checkOp(t, fmt.Sprint("Scale", shape), f, param(rng, shape...))
	}
}

func TestBinaryValues(t *testing.T) {
	tp := NewNoGradTape()
	cases := []struct {
		name  string
		f     func(a, b *Tensor) *Tensor
		a, b  *Tensor
		shape []int
		want  []float64
	}{
		{"Add row", tp.Add, FromSlice([]float64{1, 2, 3, 4}, 2, 2), FromSlice([]float64{10, 20}, 2),
			[]int{2, 2}, []float64{11, 22, 13, 24}},
		{"Sub column", tp.Sub, FromSlice([]float64{5, 6, 7}, 3), FromSlice([]float64{1, 2}, 2, 1),
			[]int{2, 3}, []float64{4, 5, 6, 3, 4, 5}},
		{"Mul outer", tp.Mul, FromSlice([]float64{1, 2}, 2, 1), FromSlice([]float64{3, 4, 5}, 1, 3),
			[]int{2, 3}, []float64{3, 4, 5, 6, 8, 10}},
		{"Mul same", tp.Mul, FromSlice([]float64{1.5, -2}, 2), FromSlice([]float64{4, 0.25}, 2),
			[]int{2}, []float64{6, -0.5}},
		{"Add scalar", tp.Add, FromSlice([]float64{0.5}, 1), FromSlice([]float64{1, 2, 3}, 3),
			[]int{3}, []float64{1.5, 2.5, 3.5}},
		{"Scale", func(a, _ *Tensor) *Tensor { return tp.Scale(a, -3) }, FromSlice([]float64{1, -2}, 2), nil,
			[]int{2}, []float64{-3, 6}},
	}
	for _, c := range cases {
		for _, dt := range []DType{Float64, Float32} {
			a, b := c.a, c.b
			if dt == Float32 {
				a = ToFloat32(a)
				if b != nil {
					b = ToFloat32(b)
				}
			}
			got := c.f(a, b)
			if !sameShape(got.Shape(), c.shape) || got.DType() != dt {
				t.Fatalf("%s %v: shape %v dtype %v, want %v", c.name, dt, got.Shape(), got.DType(), c.shape)
			}
			for i, w := range c.want {
				if got.At(i) != w {
					t.Errorf("%s %v: [%d] = %v, want %v", c.name, dt, i, got.At(i), w)
				}
			}
		}
	}
}

func TestBinaryGradValues(t *testing.T) {
	// d/da sum((a - b) * c) and friends, computed by hand for a [2,2], b [2], c [2,1].
	tp := NewTape()
	a := FromSlice([]float64{1, 2, 3, 4}, 2, 2)
	b := FromSlice([]float64{10, 20}, 2)
	c := FromSlice([]float64{2, -1}, 2, 1)
	for _, x := range []*Tensor{a, b, c} {
		x.SetRequiresGrad(true)
	}
	if err := tp.Backward(tp.Sum(tp.Mul(tp.Sub(a, b), c))); err != nil {
		t.Fatal(err)
	}
	want := map[string][]float64{
		"a": {2, 2, -1, -1},       // c broadcast along columns
		"b": {-1, -1},             // -(2 + -1) per column
		"c": {-9 + -18, -7 + -16}, // row sums of a - b
	}
	for name, x := range map[string]*Tensor{"a": a, "b": b, "c": c} {
		for i, w := range want[name] {
			if x.GradAt(i) != w {
				t.Errorf("grad %s[%d] = %v, want %v", name, i, x.GradAt(i), w)
			}
		}
	}
}

// TestGradAccumulates uses one input twice, directly and through an
// intermediate, and checks that both contributions add up.
func TestGradAccumulates(t *testing.T) {
	x := FromSlice([]float64{1, -2, 3}, 3)
	x.SetRequiresGrad(true)
	tp := NewTape()
	// y = sum(x*x + x) -> dy/dx = 2x + 1.
	if err := tp.Backward(tp.Sum(tp.Add(tp.Mul(x, x), x))); err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{3, -3, 7} {
		if x.GradAt(i) != w {
			t.Errorf("leaf: grad[%d] = %v, want %v", i, x.GradAt(i), w)
		}
	}
	// h = 2x used twice: z = sum(h*h) + sum(h) -> dz/dx = 2 (2h + 1) = 8x + 2.
	x.ZeroGrad()
	tp.Reset()
	h := tp.Scale(x, 2)
	if err := tp.Backward(tp.Add(tp.Sum(tp.Mul(h, h)), tp.Sum(h))); err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{10, -14, 26} {
		if x.GradAt(i) != w {
			t.Errorf("intermediate: grad[%d] = %v, want %v", i, x.GradAt(i), w)
		}
	}
	// A second Backward on a fresh tape adds to the leaf's gradient.
	tp.Reset()
	if err := tp.Backward(tp.Sum(x)); err != nil {
		t.Fatal(err)
	}
	for i, w := range []float64{11, -13, 27} {
		if x.GradAt(i) != w {
			t.Errorf("second backward: grad[%d] = %v, want %v", i, x.GradAt(i), w)
		}
	}
}

// TestBinaryMatchesReference compares forward and backward on shapes large
// enough to take the parallel paths with a naive per-element reference.
func TestBinaryMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	pairs := [][2][]int{
		{{300, 257}, {300, 257}},
		{{300, 257}, {257}},
		{{257}, {300, 257}},
		{{300, 257}, {300, 1}},
		{{300, 1}, {1, 257}},
		{{6, 50, 129}, {6, 1, 129}},
		{{1}, {77000}},
	}
	for _, s := range pairs {
		for k := ewAdd; k <= ewMul; k++ {
			for _, dt := range []DType{Float64, Float32} {
				name := fmt.Sprintf("%s%v%v %v", ewNames[k], s[0], s[1], dt)
				a, b := param(rng, s[0]...), param(rng, s[1]...)
				if dt == Float32 {
					a, b = ToFloat32(a), ToFloat32(b)
					a.SetRequiresGrad(true)
					b.SetRequiresGrad(true)
				}
				tp := NewTape()
				out := ewBinary(tp, k, a, b)
				g := RandN(rng, 1, out.Shape()...)
				proj := g.F64()
				var loss *Tensor
				if dt == Float32 {
					loss = tp.project(out, ToFloat32(g).F32())
				} else {
					loss = tp.project(out, proj)
				}
				if err := tp.Backward(loss); err != nil {
					t.Fatal(err)
				}
				ga, gb := make([]float64, a.Len()), make([]float64, b.Len())
				tol := 1e-12
				if dt == Float32 {
					tol = 1e-4
				}
				for i := range proj {
					ia, ib := ewRefIndex(s[0], out.Shape(), i), ewRefIndex(s[1], out.Shape(), i)
					av, bv, gi := a.At(ia), b.At(ib), float64(float32(proj[i]))
					if dt == Float64 {
						gi = proj[i]
					}
					var want float64
					switch k {
					case ewAdd:
						want, ga[ia], gb[ib] = av+bv, ga[ia]+gi, gb[ib]+gi
					case ewSub:
						want, ga[ia], gb[ib] = av-bv, ga[ia]+gi, gb[ib]-gi
					case ewMul:
						want, ga[ia], gb[ib] = av*bv, ga[ia]+gi*bv, gb[ib]+gi*av
					}
					if math.Abs(out.At(i)-want) > tol*(1+math.Abs(want)) {
						t.Fatalf("%s: out[%d] = %v, want %v", name, i, out.At(i), want)
					}
				}
				ewCheckGrad(t, name+" da", a, ga, tol)
				ewCheckGrad(t, name+" db", b, gb, tol)
			}
		}
	}
}

// ewCheckGrad compares x's gradient with want in a normwise relative sense.
func ewCheckGrad(t *testing.T, name string, x *Tensor, want []float64, tol float64) {
	t.Helper()
	got := make([]float64, len(want))
	for i := range got {
		got[i] = x.GradAt(i)
	}
	if e := normRelErr(got, want); e > tol {
		t.Errorf("%s: gradient relative error %.3g > %.3g", name, e, tol)
	}
}

func TestBinaryPanics(t *testing.T) {
	tp := NewTape()
	cases := map[string]func(){
		"shapes": func() { tp.Add(New(Float64, 3), New(Float64, 4)) },
		"dtypes": func() { tp.Mul(New(Float64, 3), New(Float32, 3)) },
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

// Gradients that pass straight through Add, Sub and Reshape are written into
// a gradient that is still zero and added to one that is not: the same tensor
// on both sides, a parameter's stale gradient after ZeroGrad, and a second
// Backward that accumulates.
func TestPassThroughGradientsWriteThenAdd(t *testing.T) {
	for _, dt := range []DType{Float64, Float32} {
		x := New(dt, 3, 4)
		x.SetRequiresGrad(true)
		for pass := 1; pass <= 2; pass++ {
			tp := NewTape()
			y := tp.Add(tp.Reshape(x, 4, 3), tp.Reshape(x, 4, 3))     // dy/dx = 2
			z := tp.Sub(y, tp.Reshape(x, 4, 3))                       // dz/dx = 1
			w := tp.Sub(z, tp.Reshape(x, 4, 3))                       // dw/dx = 0
			if err := tp.Backward(tp.Sum(tp.Add(w, z))); err != nil { // d/dx = 1
				t.Fatal(err)
			}
			for i := 0; i < x.Len(); i++ {
				if g := x.GradAt(i); g != float64(pass) {
					t.Fatalf("%v pass %d: grad[%d] = %v, want %d", dt, pass, i, g, pass)
				}
			}
			tp.Reset()
		}
		x.ZeroGrad() // stale: the next pass writes over it
		tp := NewTape()
		if err := tp.Backward(tp.Sum(tp.Sub(tp.Reshape(x, 12), tp.Scale(tp.Reshape(x, 12), 3)))); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < x.Len(); i++ {
			if g := x.GradAt(i); g != -2 {
				t.Fatalf("%v after ZeroGrad: grad[%d] = %v, want -2", dt, i, g)
			}
		}
	}
}

// TestPassThroughGradientsLent checks the gradients that Add, Sub, Scale by 1
// and Reshape hand on without copying (an intermediate takes its output's
// gradient buffer): a sum of two intermediates, an intermediate added to
// itself, a difference, and a chain of them, over several passes of one
// tape, so that a lent buffer the pool took back twice would be handed out
// twice and corrupt a later pass's values or gradients.
func TestPassThroughGradientsLent(t *testing.T) {
	for _, dt := range []DType{Float64, Float32} {
		x := New(dt, 2, 6)
		x.SetRequiresGrad(true)
		for i := range 12 {
			x.Set(i, float64(i+1))
		}
		tp := NewTape()
		for pass := 1; pass <= 3; pass++ {
			x.ZeroGrad()
			a, b := tp.Scale(x, 2), tp.Scale(x, 3) // intermediates without gradients
			s := tp.Add(a, b)                      // 5x: a takes the gradient, b copies it
			d := tp.Sub(tp.Scale(s, 1), a)         // 3x
			twice := tp.Add(d, d)                  // 6x, d added to itself
			y := tp.Reshape(tp.Add(twice, s), 12)  // 11x
			loss := tp.Sum(tp.Mul(y, y))           // 121 Σx², d/dx = 242x
			if err := tp.Backward(loss); err != nil {
				t.Fatal(err)
			}
			if got, want := loss.Item(), 121.0*650; got != want { // Σ_{i=1}^{12} i² = 650
				t.Fatalf("%v pass %d: loss %v, want %v", dt, pass, got, want)
			}
			for i := range 12 {
				if g, want := x.GradAt(i), 242*float64(i+1); g != want {
					t.Fatalf("%v pass %d: grad[%d] = %v, want %v", dt, pass, i, g, want)
				}
			}
			tp.Reset()
		}
	}
}
