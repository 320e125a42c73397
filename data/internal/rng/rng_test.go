package rng

import "testing"

func TestStreamIsFixed(t *testing.T) {
	// splitmix64 reference values for seed 0 (the published test vector).
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	r := New(0)
	for i, w := range want {
		if got := r.Uint64(); got != w {
			t.Fatalf("value %d = %#x, want %#x", i, got, w)
		}
	}
}

func TestIntNRangeAndSpread(t *testing.T) {
	r := New(7)
	const n, draws = 10, 100000
	var counts [n]int
	for range draws {
		v := r.IntN(n)
		if v < 0 || v >= n {
			t.Fatalf("IntN(%d) = %d", n, v)
		}
		counts[v]++
	}
	for i, c := range counts {
		if c < draws/n*9/10 || c > draws/n*11/10 {
			t.Errorf("value %d drawn %d times of %d, want about %d", i, c, draws, draws/n)
		}
	}
}

func TestShuffleIsPermutation(t *testing.T) {
	p := make([]int, 100)
	for i := range p {
		p[i] = i
	}
	New(3).Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	seen := make([]bool, len(p))
	moved := 0
	for i, v := range p {
		if seen[v] {
			t.Fatalf("value %d twice", v)
		}
		seen[v] = true
		if v != i {
			moved++
		}
	}
	if moved < 50 {
		t.Errorf("only %d of 100 elements moved", moved)
	}
}

func TestMixSeparatesNeighbours(t *testing.T) {
	if Mix(1, 0) == Mix(1, 1) || Mix(1, 0) == Mix(0, 1) {
		t.Fatal("Mix collides on neighbouring inputs")
	}
	// Pinned: generated data and shard orders depend on these values.
	if got := Mix(5, 2); got != 0x7b16c5a0884d6c37 {
		t.Fatalf("Mix(5, 2) = %#x, want 0x7b16c5a0884d6c37", got)
	}
}
