package autograd

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGatherScatterGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tests := []struct {
		name  string
		shape []int // GatherRows x, ScatterAddRows src
		idx   []int32
		n     int // ScatterAddRows rows
	}{
		{"one row", []int{1, 1}, []int32{0}, 1},
		{"repeats", []int{5, 3}, []int32{0, 4, 4, 2, 0}, 5},
		{"odd width", []int{3, 7}, []int32{2, 2, 1}, 4}, // scatter leaves row 3 zero
		{"3-D rows", []int{4, 2, 3}, []int32{3, 0, 3, 1}, 6},
		{"1-D", []int{6}, []int32{5, 0, 5, 5, 1, 2}, 6},
	}
	for _, tc := range tests {
		g := func(tp *Tape, in []*Tensor) *Tensor { return tp.GatherRows(in[0], tc.idx) }
		x := param(rng, append([]int{int(slices.Max(tc.idx)) + 1}, tc.shape[1:]...)...)
		checkOp(t, "GatherRows "+tc.name, g, x)
		s := func(tp *Tape, in []*Tensor) *Tensor { return tp.ScatterAddRows(in[0], tc.idx, tc.n) }
		src := param(rng, append([]int{len(tc.idx)}, tc.shape[1:]...)...)
		checkOp(t, "ScatterAddRows "+tc.name, s, src)
	}
}

func TestScatterAddRowsWeightedGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		name   string
		shape  []int // src
		wShape []int
		idx    []int32
		n      int
	}{
		{"one row", []int{1, 1}, []int{1}, []int32{0}, 1},
		{"repeats, [M,1] weights", []int{5, 3}, []int{5, 1}, []int32{0, 4, 4, 2, 0}, 5},
		{"odd width, empty row", []int{3, 7}, []int{3}, []int32{2, 2, 1}, 4},
		{"3-D rows", []int{4, 2, 3}, []int{4}, []int32{3, 0, 3, 1}, 6},
	} {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.ScatterAddRowsWeighted(in[0], in[1], tc.idx, tc.n) }
		checkOp(t, "ScatterAddRowsWeighted "+tc.name, f, param(rng, tc.shape...), param(rng, tc.wShape...))
	}
}

// TestScatterAddRowsWeightedMatchesUnfused holds the fused op to the
// composition it replaces, ScatterAddRows(Mul(src, w)), in float32: the
// same values and src gradients to the bit (summation orders included), w's
// gradient within float32 rounding (it sums in another order), with a
// second pass over the same leaves accumulating into their gradients, with
// only one of the two inputs requiring a gradient, and with src a leaf (its
// gradient added to) or an intermediate (its fresh gradient written).
func TestScatterAddRowsWeightedMatchesUnfused(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m, d, n := 600, 67, 170 // large enough to split across cores
	idx := make([]int32, m)
	for i := range idx {
		idx[i] = int32(rng.IntN(n))
	}
	head := RandN(rng, 1, n*d) // weights the output's rows in the loss
	for _, grads := range [][3]bool{{true, true, false}, {true, false, false}, {false, true, false}, {true, true, true}} {
		run := func(fused bool) (*Tensor, *Tensor, *Tensor) {
			src, w := RandN(rand.New(rand.NewPCG(1, 2)), 1, m, d), RandN(rand.New(rand.NewPCG(3, 4)), 1, m, 1)
			src, w = nnAs(src, Float32), nnAs(w, Float32)
			src.SetRequiresGrad(grads[0])
			w.SetRequiresGrad(grads[1])
			var out *Tensor
			for range 2 {
				tp := NewTape()
				x := src
				if grads[2] {
					x = tp.Scale(src, 0.5)
				}
				if fused {
					out = tp.ScatterAddRowsWeighted(x, w, idx, n)
				} else {
					out = tp.ScatterAddRows(tp.Mul(x, w), idx, n)
				}
				loss := tp.Sum(tp.Mul(tp.Reshape(out, n*d), nnAs(head, Float32)))
				if err := tp.Backward(loss); err != nil {
					t.Fatal(err)
				}
				out = out.Clone()
				tp.Reset()
			}
			return out, src, w
		}
		got, gs, gw := run(true)
		want, ws, ww := run(false)
		for i := range got.Len() {
			if got.At(i) != want.At(i) {
				t.Fatalf("grads %v: out[%d] = %v, unfused %v", grads, i, got.At(i), want.At(i))
			}
		}
		for k, p := range [][2]*Tensor{{gs, ws}, {gw, ww}} {
			if !p[0].RequiresGrad() {
				continue
			}
			for i := range p[0].Len() {
				got, want := p[0].GradAt(i), p[1].GradAt(i)
				if k == 0 && got != want || math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("grads %v: %v gradient[%d] = %v, unfused %v", grads, p[0].Shape(), i, got, want)
				}
			}
		}
	}
}

func TestGatherScatterValues(t *testing.T) {
	for _, dt := range nnDTypes {
		tp := NewNoGradTape()
		x := nnAs(FromSlice([]float64{1, 2, 3, 4, 5, 6}, 3, 2), dt)
		g := tp.GatherRows(x, []int32{2, 0, 2})
		nnExpectValues(t, dt.String()+" GatherRows", g, []int{3, 2}, []float64{5, 6, 1, 2, 5, 6})
		s := tp.ScatterAddRows(x, []int32{1, 3, 1}, 4)
		nnExpectValues(t, dt.String()+" ScatterAddRows", s, []int{4, 2}, []float64{0, 0, 6, 8, 0, 0, 3, 4})
		k := tp.TakeAlongLastAxis(x, []int32{1, 1, 0, 1, 0, 0})
		nnExpectValues(t, dt.String()+" TakeAlongLastAxis", k, []int{3, 2}, []float64{2, 2, 3, 4, 5, 5})
		e := tp.GatherRows(x, nil)
		nnExpectValues(t, dt.String()+" GatherRows of no rows", e, []int{0, 2}, nil)
	}
}

// nnExpectValues fails t unless got has the given shape and values exactly.
func nnExpectValues(t *testing.T, name string, got *Tensor, shape []int, want []float64) {
	t.Helper()
	if !sameShape(got.Shape(), shape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), shape)
	}
	for i, w := range want {
		if got.At(i) != w {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got.At(i), w)
		}
	}
}

func TestScatterAddRowsParallelMatchesSequential(t *testing.T) {
	// Large enough to split across workers; skewed indices with many repeats.
	const m, d, n = 6000, 48, 37
	rng := rand.New(rand.NewPCG(9, 10))
	src := ToFloat32(RandN(rng, 1, m, d))
	idx := make([]int32, m)
	for i := range idx {
		idx[i] = int32(rng.IntN(n) * rng.IntN(2)) // half of them hit row 0
	}
	got := NewNoGradTape().ScatterAddRows(src, idx, n)
	want := make([]float32, n*d)
	for i, r := range idx { // the obviously-correct reference, in index order
		for j := range d {
			want[int(r)*d+j] += src.f32[i*d+j]
		}
	}
	for i, w := range want {
		if got.f32[i] != w { // same summation order: bit-identical
			t.Fatalf("ScatterAddRows[%d] = %v, want %v", i, got.f32[i], w)
		}
	}
}

func TestTakeAlongLastAxisGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tests := []struct {
		name  string
		shape []int
		k     int
	}{
		{"one element", []int{1, 1}, 1},
		{"repeats", []int{3, 5}, 4},
		{"more than C", []int{2, 3}, 5},
		{"3-D", []int{2, 3, 7}, 2},
		{"1-D", []int{9}, 3},
	}
	for _, tc := range tests {
		x := param(rng, tc.shape...)
		cols := tc.shape[len(tc.shape)-1]
		idx := make([]int32, x.Len()/cols*tc.k)
		for i := range idx {
			idx[i] = int32(rng.IntN(cols))
		}
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.TakeAlongLastAxis(in[0], idx) }
		checkOp(t, "TakeAlongLastAxis "+tc.name, f, x)
		out := NewNoGradTape().TakeAlongLastAxis(x, idx)
		want := append(append([]int(nil), tc.shape[:len(tc.shape)-1]...), tc.k)
		if !sameShape(out.Shape(), want) {
			t.Errorf("TakeAlongLastAxis %s: shape %v, want %v", tc.name, out.Shape(), want)
		}
	}
}

func TestGatherPanics(t *testing.T) {
	x := New(Float64, 3, 2)
	tests := []struct {
		name string
		f    func(tp *Tape)
	}{
		{"GatherRows index too large", func(tp *Tape) { tp.GatherRows(x, []int32{0, 3}) }},
		{"GatherRows negative index", func(tp *Tape) { tp.GatherRows(x, []int32{-1}) }},
		{"ScatterAddRows index too large", func(tp *Tape) { tp.ScatterAddRows(x, []int32{0, 1, 4}, 4) }},
		{"ScatterAddRows index count", func(tp *Tape) { tp.ScatterAddRows(x, []int32{0, 1}, 4) }},
		{"ScatterAddRowsWeighted weight count", func(tp *Tape) { tp.ScatterAddRowsWeighted(x, New(Float64, 2), []int32{0, 1, 2}, 4) }},
		{"ScatterAddRowsWeighted dtype", func(tp *Tape) { tp.ScatterAddRowsWeighted(x, New(Float32, 3), []int32{0, 1, 2}, 4) }},
		{"ScatterAddRowsWeighted index too large", func(tp *Tape) { tp.ScatterAddRowsWeighted(x, New(Float64, 3), []int32{0, 1, 4}, 4) }},
		{"TakeAlongLastAxis column", func(tp *Tape) { tp.TakeAlongLastAxis(x, []int32{0, 2, 1}) }},
		{"TakeAlongLastAxis ragged", func(tp *Tape) { tp.TakeAlongLastAxis(x, []int32{0, 1}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tc.name)
				}
			}()
			tc.f(NewNoGradTape())
		})
	}
}

// ScatterAddRows' backward gathers into src's gradient: it writes a gradient
// that is still zero and adds to one that is not (a second Backward, or src
// used twice).
func TestScatterAddRowsBackwardWritesThenAdds(t *testing.T) {
	for _, dt := range nnDTypes {
		src := New(dt, 3, 2)
		src.SetRequiresGrad(true)
		idx := []int32{1, 0, 1}
		for pass := 1; pass <= 2; pass++ {
			tp := NewTape()
			out := tp.ScatterAddRows(src, idx, 2)                         // [2, 2]
			w := FromSlice([]float64{1, 2, 3, 4}, 2, 2)                   // d loss / d out
			loss := tp.Add(tp.Sum(tp.Mul(out, nnAs(w, dt))), tp.Sum(src)) // src used twice: +1
			if err := tp.Backward(loss); err != nil {
				t.Fatal(err)
			}
			for i, r := range idx {
				for j := 0; j < 2; j++ {
					want := float64(pass) * (w.At(int(r)*2+j) + 1)
					if g := src.GradAt(i*2 + j); g != want {
						t.Fatalf("%v pass %d: dsrc[%d,%d] = %v, want %v", dt, pass, i, j, g, want)
					}
				}
			}
			tp.Reset()
		}
	}
}
