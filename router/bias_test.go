package router

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestUpdateBiasDirection(t *testing.T) {
	cfg := DefaultConfig(4, 1)
	cfg.ExpertBias, cfg.BiasUpdateRate = true, 0.5
	r, err := New(cfg, 3, 0.02, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	// Loads 10, 2, 4, 0: mean 4. Overloaded expert 0 goes down, under-loaded
	// experts 1 and 3 go up, expert 2 at the mean stays.
	r.UpdateBias([]int{10, 2, 4, 0})
	if got, want := r.Bias(), []float32{-0.5, 0.5, 0, 0.5}; !slices.Equal(got, want) {
		t.Fatalf("bias after one update %v, want %v", got, want)
	}
	r.UpdateBias([]int{1, 1, 1, 5}) // mean 2
	if got, want := r.Bias(), []float32{0, 1, 0.5, 0}; !slices.Equal(got, want) {
		t.Fatalf("bias after two updates %v, want %v", got, want)
	}
	// Bias returns a copy.
	b := r.Bias()
	b[0] = 42
	if r.Bias()[0] == 42 {
		t.Fatal("Bias exposes internal state")
	}
	if err := r.SetBias([]float32{1, 2, 3, 4}); err != nil || !slices.Equal(r.Bias(), []float32{1, 2, 3, 4}) {
		t.Fatalf("SetBias: %v, bias %v", err, r.Bias())
	}
	if err := r.SetBias([]float32{1}); err == nil {
		t.Fatal("SetBias accepted a wrong length")
	}
}

func TestUpdateBiasNoOpWithoutExpertBias(t *testing.T) {
	r, err := New(DefaultConfig(3, 1), 2, 0.02, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	r.UpdateBias([]int{9, 0, 0})
	if got := r.Bias(); !slices.Equal(got, []float32{0, 0, 0}) {
		t.Fatalf("bias %v changed without ExpertBias", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("UpdateBias accepted a wrong length")
		}
	}()
	r.UpdateBias([]int{1})
}
