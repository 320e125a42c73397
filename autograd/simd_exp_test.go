package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expTestLens are row lengths around the vector widths and a long tail.
var expTestLens = []int{0, 1, 7, 8, 9, 15, 16, 17, 1000, 4099}

// expTestRow returns n attention-like scores, with -Inf (masked) mixed in
// when masked is set, and their maximum.
func expTestRow(rng *rand.Rand, n int, masked bool) ([]float32, float32) {
	row := make([]float32, n)
	m := float32(math.Inf(-1))
	for i := range row {
		switch {
		case masked && rng.IntN(5) == 0:
			row[i] = float32(math.Inf(-1))
		case rng.IntN(50) == 0:
			row[i] = -150 + 60*rng.Float32() // underflows to subnormals and 0
		default:
			row[i] = 50*rng.Float32() - 45 // wide enough that the sum rounds
		}
		m = max(m, row[i])
	}
	if n > 0 && math.IsInf(float64(m), -1) { // keep one score visible
		row[0], m = 0, 0
	}
	return row, m
}

// expCheck reports whether got is e^x rounded to float32 within a relative
// 2e-7 (or a float32 subnormal step below the normal range).
func expCheck(got float32, x float64) bool {
	want := math.Exp(x)
	return math.Abs(float64(got)-want) <= 2e-7*want+0x1p-150
}

func TestExpSubSumF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		for _, n := range expTestLens {
			for _, masked := range []bool{false, true} {
				src, m := expTestRow(rng, n, masked)
				dst := make([]float32, n)
				sum := expSubSumF32(dst, src, m)
				var want float64
				for i, e := range dst {
					x := float64(src[i]) - float64(m)
					if math.IsInf(x, -1) && e != 0 || !expCheck(e, x) {
						t.Errorf("level %d n %d: e^(%v - %v) = %v, want %v", level, n, src[i], m, e, math.Exp(x))
						break
					}
					want += float64(e)
				}
				if math.Abs(sum-want) > 1e-13*want {
					t.Errorf("level %d n %d masked %v: sum %v, want %v", level, n, masked, sum, want)
				}
			}
		}
	}
}

func TestExpSubSumF32Special(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []struct {
		x, shift, want float32
	}{
		{float32(math.Inf(-1)), 0, 0},
		{float32(math.Inf(-1)), 3, 0},
		{-200, 0, 0},
		{-104, 0, 0},
		{0, 0, 1},
		{5, 5, 1},
		{inf, 0, inf},
		{89, 0, inf},
		{200, 0, inf},
		{88, 0, float32(math.Exp(88))},
		{-87, 0, float32(math.Exp(-87))},
		{-100, 0, float32(math.Exp(-100))},
		{nan, 0, nan},
		{1, nan, nan},
	}
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		for _, c := range cases {
			for _, n := range []int{1, 8, 17} {
				row := make([]float32, n)
				for i := range row {
					row[i] = c.x
				}
				sum := expSubSumF32(row, row, c.shift)
				for i, got := range row {
					if got != c.want && !(got != got && c.want != c.want) {
						t.Errorf("level %d n %d: e^(%v - %v) [%d] = %v, want %v", level, n, c.x, c.shift, i, got, c.want)
						break
					}
				}
				if want := float64(n) * float64(c.want); sum != want && !(sum != sum && want != want) {
					t.Errorf("level %d n %d: sum of e^(%v - %v) = %v, want %v", level, n, c.x, c.shift, sum, want)
				}
			}
		}
	}
}

// TestExpSubSumF32Sweep checks the error bound on a dense sweep of the
// float32 arguments whose exponential is normal or subnormal, and the
// largest error in float32 ulps where it is normal.
func TestExpSubSumF32Sweep(t *testing.T) {
	const n = 1 << 20
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(-104 + (88.7+104)*float64(i)/n)
	}
	dst := make([]float32, n)
	expSubSumF32(dst, src, 0)
	worst := 0.0
	for i, e := range dst {
		x := float64(src[i])
		if !expCheck(e, x) {
			t.Fatalf("e^%v = %v, want %v", x, e, math.Exp(x))
		}
		if w := math.Exp(x); w >= 0x1p-126 {
			ulp := float64(math.Nextafter32(float32(w), float32(math.Inf(1))) - float32(w))
			worst = max(worst, math.Abs(float64(e)-w)/ulp)
		}
	}
	// Half an ulp of rounding plus the polynomial's 7.3e-9 (0.12 ulp at most).
	t.Logf("worst error %.3f float32 ulp", worst)
	if worst > 0.63 {
		t.Errorf("worst error %.3f float32 ulp, want <= 0.63", worst)
	}
}

// TestExpSubSumF32Levels checks that every instruction set computes the
// same bits as the scalar Go kernel, in place and out of place.
func TestExpSubSumF32Levels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	levels := actLevels()
	lens := append([]int(nil), expTestLens...)
	for range 200 { // many sums, to catch a different order of addition
		lens = append(lens, 8+rng.IntN(100))
	}
	for k, n := range lens {
		src, m := expTestRow(rng, n, true)
		if k%2 == 1 && n > 3 { // NaN makes the sum NaN: only in some rows
			src[3] = float32(math.NaN())
		}
		actSetSIMD(t, actSIMDNone)
		want := make([]float32, n)
		wantSum := expSubSumF32(want, src, m)
		for _, level := range levels {
			actSIMD = level
			for _, inPlace := range []bool{false, true} {
				dst := make([]float32, n)
				in := src
				if inPlace {
					copy(dst, src)
					in = dst
				}
				sum := expSubSumF32(dst, in, m)
				for i, g := range dst {
					if math.Float32bits(g) != math.Float32bits(want[i]) && !(g != g && want[i] != want[i]) {
						t.Errorf("level %d n %d in place %v [%d]: %v, scalar %v", level, n, inPlace, i, g, want[i])
						break
					}
				}
				if math.Float64bits(sum) != math.Float64bits(wantSum) && !(sum != sum && wantSum != wantSum) {
					t.Errorf("level %d n %d in place %v: sum %v, scalar %v", level, n, inPlace, sum, wantSum)
				}
			}
		}
	}
}
