package autograd

import (
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
