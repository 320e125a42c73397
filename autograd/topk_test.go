package autograd

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestTopKGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	tests := []struct {
		shape []int
		k     int
	}{
		{[]int{1, 1}, 1},
		{[]int{3, 5}, 2},
		{[]int{4, 6}, 6}, // K == C
		{[]int{2, 3, 7}, 3},
		{[]int{2, 40}, 20}, // the heap path
		{[]int{1, 33}, 33},
		{[]int{9}, 4},
	}
	for _, tc := range tests {
		f := func(tp *Tape, in []*Tensor) *Tensor { v, _ := tp.TopK(in[0], tc.k); return v }
		checkOp(t, fmt.Sprintf("TopK %v k %d", tc.shape, tc.k), f, param(rng, tc.shape...))
	}
}

func TestTopKOrderAndTies(t *testing.T) {
	x := []float64{
		1, 3, 3, 2, // tie: the lower index first
		5, 5, 5, 5, // all equal
		-1, math.NaN(), 0, math.Inf(1), // NaN ranks first
	}
	tests := []struct {
		k        int
		wantVals []float64
		wantIdx  []int32
	}{
		{1, []float64{3, 5, math.NaN()}, []int32{1, 0, 1}},
		{3, []float64{3, 3, 2, 5, 5, 5, math.NaN(), math.Inf(1), 0}, []int32{1, 2, 3, 0, 1, 2, 1, 3, 2}},
		{4, []float64{3, 3, 2, 1, 5, 5, 5, 5, math.NaN(), math.Inf(1), 0, -1}, []int32{1, 2, 3, 0, 0, 1, 2, 3, 1, 3, 2, 0}},
	}
	for _, dt := range nnDTypes {
		for _, tc := range tests {
			v, idx := NewNoGradTape().TopK(nnAs(FromSlice(x, 3, 4), dt), tc.k)
			if !sameShape(v.Shape(), []int{3, tc.k}) || !slices.Equal(idx, tc.wantIdx) {
				t.Errorf("%v TopK k=%d: shape %v indices %v, want [3 %d] %v", dt, tc.k, v.Shape(), idx, tc.k, tc.wantIdx)
				continue
			}
			for i, w := range tc.wantVals {
				if got := v.At(i); got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
					t.Errorf("%v TopK k=%d value %d = %v, want %v", dt, tc.k, i, got, w)
				}
			}
		}
	}
}

func TestTopKMatchesStableSort(t *testing.T) {
	// Rows with many ties, for both the insertion and the heap path.
	rng := rand.New(rand.NewPCG(29, 30))
	const rows, cols = 300, 70
	x := New(Float32, rows, cols)
	for i := range x.f32 {
		x.f32[i] = float32(rng.IntN(9))
	}
	for _, k := range []int{1, 2, 8, nnTopKInsertMax, nnTopKInsertMax + 1, cols} {
		v, idx := NewNoGradTape().TopK(x, k)
		for r := range rows {
			row := x.f32[r*cols : (r+1)*cols]
			order := make([]int32, cols)
			for i := range order {
				order[i] = int32(i)
			}
			slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(row[b], row[a]) })
			if got := idx[r*k : (r+1)*k]; !slices.Equal(got, order[:k]) {
				t.Fatalf("TopK k=%d row %d: indices %v, want %v", k, r, got, order[:k])
			}
			for j, c := range order[:k] {
				if v.f32[r*k+j] != row[c] {
					t.Fatalf("TopK k=%d row %d: value %d = %v, want %v", k, r, j, v.f32[r*k+j], row[c])
				}
			}
		}
	}
}

func TestTopKGradientToSelected(t *testing.T) {
	x := FromSlice([]float64{0.5, 2, -1, 3}, 1, 4)
	x.SetRequiresGrad(true)
	tp := NewTape()
	v, _ := tp.TopK(x, 2) // picks 3 (column 3) then 2 (column 1)
	if err := tp.Backward(tp.project(v, []float64{10, 20})); err != nil {
		t.Fatal(err)
	}
	nnExpectValues(t, "TopK grad", x.Grad(), []int{1, 4}, []float64{0, 20, 0, 10})
}

func TestTopKPanics(t *testing.T) {
	for name, k := range map[string]int{"k = 0": 0, "k > C": 5} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("TopK with %s did not panic", name)
				}
			}()
			NewNoGradTape().TopK(New(Float32, 2, 4), k)
		})
	}
}

func ExampleTape_TopK() {
	// Router scores for two tokens over four experts; pick two per token.
	scores := FromSlice([]float32{0.1, 0.5, 0.5, 0.2, 0.9, 0.0, 0.3, 0.4}, 2, 4)
	vals, experts := NewNoGradTape().TopK(scores, 2)
	fmt.Println(vals.F32(), experts)
	// Output: [0.5 0.5 0.9 0.4] [1 2 0 3]
}
