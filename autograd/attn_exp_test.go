package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpSum16VectorMatchesLanes holds the AVX-512 kernel to its Go form bit
// for bit (NaN to NaN) on rows of every length around the 16-lane groups,
// with -Inf (masked scores), NaN, values that overflow, and values whose
// exponential is subnormal or rounds to 0.
func TestExpSum16VectorMatchesLanes(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float32{float32(math.Inf(-1)), float32(math.NaN()), 150, -150, -87.5, -95, -103.9, 88.7, 0}
	for n := 0; n <= 70; n++ {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 8)
			if rng.IntN(6) == 0 {
				src[i] = specials[rng.IntN(len(specials))]
			}
		}
		vec, lanes := make([]float32, n), make([]float32, n)
		shift := float32(1.25)
		nv, sv := expSum16Vec(vec, src, shift)
		nl, sl := expSum16Lanes(lanes, src, shift)
		if nv != nl || !sameFloat32(sv, sl) {
			t.Fatalf("n=%d: vector prefix %d sum %v, lanes %d sum %v", n, nv, sv, nl, sl)
		}
		for i := range nv {
			if !sameFloat32(vec[i], lanes[i]) {
				t.Fatalf("n=%d: element %d (x=%v): vector %v, lanes %v", n, i, src[i]-shift, vec[i], lanes[i])
			}
		}
	}
}

func sameFloat32(a, b float32) bool {
	return a == b && math.Signbit(float64(a)) == math.Signbit(float64(b)) || a != a && b != b
}

// TestExpLane32Accuracy sweeps expLane32 over the range where e^x is a
// normal float32 and checks it within 1.5 units in the last place of the
// correctly rounded value; and its edges: 0 below the subnormals, +Inf
// above the largest float32, e^0 = 1 exactly, NaN for NaN.
func TestExpLane32Accuracy(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.00137 {
		got, want := float64(expLane32(x)), math.Exp(float64(x))
		ulp := math.Abs(got-want) / float64(math.Nextafter32(float32(want), float32(math.Inf(1)))-float32(want))
		worst = max(worst, ulp)
	}
	if worst > 1.5 {
		t.Fatalf("worst error %.2f ulp, want <= 1.5", worst)
	}
	t.Logf("worst error %.2f ulp", worst)
	for _, c := range []struct{ x, want float32 }{
		{-110, 0}, {float32(math.Inf(-1)), 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))}, {0, 1},
	} {
		if got := expLane32(c.x); got != c.want {
			t.Errorf("expLane32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expLane32(float32(math.NaN())); got == got {
		t.Errorf("expLane32(NaN) = %v", got)
	}
	// Subnormal results round once: e^-100 is 3.72e-44, a few units of the
	// smallest subnormal.
	if got, want := expLane32(-100), float32(math.Exp(-100)); got != want {
		t.Errorf("expLane32(-100) = %g, want %g", got, want)
	}
}

// TestExpSum16SumsAndTails: expSum16 writes every element (the tail through
// a padded group) and returns their sum.
func TestExpSum16SumsAndTails(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 17, 40, 128} {
		src := make([]float32, n)
		for i := range src {
			src[i] = -float32(i%9) * 0.7
		}
		dst := make([]float32, n)
		sum := expSum16(dst, src, 0.5)
		var want float64
		for i, x := range src {
			if dst[i] != expLane32(x-0.5) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], expLane32(x-0.5))
			}
			want += float64(dst[i])
		}
		if math.Abs(float64(sum)-want) > 1e-6*(1+want) {
			t.Fatalf("n=%d: sum %v, want %v", n, sum, want)
		}
	}
}
