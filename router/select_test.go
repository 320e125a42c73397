package router

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectTopK(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float64 // [N, E]
		bias    []float32
		sigmoid bool
		n, e, k int
		want    []int32
	}{
		{"descending order", []float64{0.1, 0.5, 0.3, 0.1}, nil, false, 1, 4, 2, []int32{1, 2}},
		{"ties to lower index", []float64{0.2, 0.3, 0.3, 0.3}, nil, false, 1, 4, 2, []int32{1, 2}},
		{"all tied", []float64{1, 1, 1}, nil, false, 1, 3, 3, []int32{0, 1, 2}},
		{"two rows", []float64{3, 1, 2, -1, -3, -2}, nil, false, 2, 3, 1, []int32{0, 0}},
		// Bias 0.3 lifts expert 0 from 0.1 to 0.4, above expert 2's 0.3.
		{"bias", []float64{0.1, 0.5, 0.3, 0.1}, []float32{0.3, 0, 0, 0}, false, 1, 4, 2, []int32{1, 0}},
		// sigmoid(0) + 0.4 = 0.9 beats sigmoid(2) = 0.881 and sigmoid(1) = 0.731.
		{"sigmoid bias", []float64{0, 1, 2}, []float32{0.4, 0, 0}, true, 1, 3, 2, []int32{0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]int32, tc.n*tc.k)
			selectTopK(tc.scores, tc.bias, tc.sigmoid, tc.n, tc.e, tc.k, got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("selectTopK = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestApplyCapacityDropsLowestProb(t *testing.T) {
	// N = 5 tokens, E = 2, K = 1, capacity 2. Tokens 0-3 choose expert 0 with
	// probs 0.6, 0.9, 0.55, 0.9; token 4 chooses expert 1. Expert 0 keeps its
	// two highest (tokens 1 and 3, tied at 0.9) and drops tokens 0 and 2.
	probs := []float64{
		0.6, 0.4,
		0.9, 0.1,
		0.55, 0.45,
		0.9, 0.1,
		0.2, 0.8,
	}
	experts := []int32{0, 0, 0, 0, 1}
	tokenOf := []int32{0, 1, 2, 3, 4}
	keep, dropped := applyCapacity(probs, experts, tokenOf, 2, 2)
	if want := []bool{false, true, false, true, true}; !slices.Equal(keep, want) || dropped != 2 {
		t.Fatalf("keep %v dropped %d, want %v and 2", keep, dropped, want)
	}
	// Ties at the boundary keep the lower slot: capacity 1 keeps token 1.
	keep, dropped = applyCapacity(probs, experts, tokenOf, 2, 1)
	if want := []bool{false, true, false, false, true}; !slices.Equal(keep, want) || dropped != 3 {
		t.Fatalf("capacity 1: keep %v dropped %d, want %v and 3", keep, dropped, want)
	}
	// Within capacity nothing is dropped and no mask is made.
	if keep, dropped := applyCapacity(probs, experts, tokenOf, 2, 4); keep != nil || dropped != 0 {
		t.Fatalf("capacity 4: keep %v dropped %d, want nil and 0", keep, dropped)
	}
}

func TestApplyCapacityTopTwo(t *testing.T) {
	// N = 3, E = 3, K = 2, capacity 2. Choices (token, rank) -> expert:
	// c0 (0,0)->1, c1 (0,1)->0, c2 (1,0)->1, c3 (1,1)->2, c4 (2,0)->1, c5 (2,1)->0.
	// Expert 1 has choices c0, c2, c4 with probs[t][1] = 0.5, 0.7, 0.6: c0 drops.
	probs := []float64{
		0.3, 0.5, 0.2,
		0.1, 0.7, 0.2,
		0.35, 0.6, 0.05,
	}
	experts := []int32{1, 0, 1, 2, 1, 0}
	tokenOf := []int32{0, 0, 1, 1, 2, 2}
	keep, dropped := applyCapacity(probs, experts, tokenOf, 3, 2)
	if want := []bool{false, true, true, true, true, true}; !slices.Equal(keep, want) || dropped != 1 {
		t.Fatalf("keep %v dropped %d, want %v and 1", keep, dropped, want)
	}
	choice, token, expert, offsets := slotTable(experts, tokenOf, keep, 3)
	if !slices.Equal(choice, []int32{1, 5, 2, 4, 3}) || !slices.Equal(token, []int32{0, 2, 1, 2, 1}) ||
		!slices.Equal(expert, []int32{0, 0, 1, 1, 2}) || !slices.Equal(offsets, []int{0, 2, 4, 5}) {
		t.Fatalf("slotTable = %v %v %v %v, want [1 5 2 4 3] [0 2 1 2 1] [0 0 1 1 2] [0 2 4 5]", choice, token, expert, offsets)
	}
}

func TestSlotTableRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range []struct{ n, e, k int }{{1, 1, 1}, {7, 3, 2}, {64, 8, 2}, {33, 5, 5}} {
		experts, tokenOf := make([]int32, sz.n*sz.k), make([]int32, sz.n*sz.k)
		for i := range experts {
			experts[i], tokenOf[i] = int32(rng.IntN(sz.e)), int32(i/sz.k)
		}
		choice, token, expert, offsets := slotTable(experts, tokenOf, nil, sz.e)
		checkSlotTable(t, experts, tokenOf, nil, sz.e, choice, token, expert, offsets)
		keep := make([]bool, len(experts))
		for i := range keep {
			keep[i] = rng.IntN(3) > 0
		}
		choice, token, expert, offsets = slotTable(experts, tokenOf, keep, sz.e)
		checkSlotTable(t, experts, tokenOf, keep, sz.e, choice, token, expert, offsets)
	}
}
