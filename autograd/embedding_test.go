package autograd

import (
	"math/rand/v2"
	"testing"
)

func TestEmbeddingGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	tests := []struct {
		name string
		v, d int
		ids  []int32
	}{
		{"one id", 1, 1, []int32{0}},
		{"repeated ids", 6, 5, []int32{3, 1, 3, 3, 0}},
		{"unused rows", 9, 3, []int32{8, 2}},
	}
	for _, tc := range tests {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.Embedding(in[0], tc.ids) }
		checkOp(t, "Embedding "+tc.name, f, param(rng, tc.v, tc.d))
	}
}

func TestEmbeddingValuesAndGrad(t *testing.T) {
	table := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 3, 2)
	table.SetRequiresGrad(true)
	tp := NewTape()
	out := tp.Embedding(table, []int32{2, 2, 0})
	nnExpectValues(t, "Embedding", out, []int{3, 2}, []float64{5, 6, 5, 6, 1, 2})
	if err := tp.Backward(tp.project(out, []float64{1, 1, 1, 1, 1, 1})); err != nil {
		t.Fatal(err)
	}
	// Each use of a row adds its output gradient (all ones here) to it.
	nnExpectValues(t, "Embedding grad", table.Grad(), []int{3, 2}, []float64{1, 1, 0, 0, 2, 2})
}

func TestEmbeddingPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"id out of range": func() { NewNoGradTape().Embedding(New(Float32, 4, 2), []int32{4}) },
		"1-D table":       func() { NewNoGradTape().Embedding(New(Float32, 4), []int32{0}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Embedding with %s did not panic", name)
				}
			}()
			f()
		})
	}
}
