package autograd

import (
	"math"
	"testing"
)

// exp32 is the float32 scalar exp under test.
func exp32(x float32) float32 { return nnExp(x) }

func TestExp32Accuracy(t *testing.T) {
	worst, at := 0.0, float32(0)
	check := func(x float32) {
		want := math.Exp(float64(x))
		if want < 0x1p-126 { // float32 subnormal results lose relative precision by design
			return
		}
		got := float64(exp32(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst, at = rel, x
		}
	}
	for x := float32(-87.3); x < 88.7; x += 0.000731 {
		check(x)
	}
	for i := -1 << 20; i < 1<<20; i++ { // the reduced range, finely
		check(float32(i) * 0x1p-20)
	}
	t.Logf("exp32 max relative error vs math.Exp: %.3g (at x = %g)", worst, at)
	if worst > 1.2e-7 { // one float32 ulp is 1.19e-7 relative at worst
		t.Errorf("exp32 max relative error %.3g at x = %g, want <= 1.2e-7", worst, at)
	}
}

func TestExp32Special(t *testing.T) {
	tests := []struct {
		x, want float32
	}{
		{0, 1},
		{1, float32(math.E)},
		{-200, 0},
		{-104.5, 0},
		{200, float32(math.Inf(1))},
		{float32(math.Inf(1)), float32(math.Inf(1))},
		{float32(math.Inf(-1)), 0},
	}
	for _, tc := range tests {
		if got := exp32(tc.x); got != tc.want {
			t.Errorf("exp32(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g, want NaN", got)
	}
	// Subnormal results stay close in absolute terms and never go negative.
	for _, x := range []float32{-88, -95, -100, -103.9} {
		want := math.Exp(float64(x))
		if got := float64(exp32(x)); got < 0 || math.Abs(got-want) > 0x1p-149 {
			t.Errorf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
}

func TestNNExpDispatch(t *testing.T) {
	if got, want := nnExp(0.5), math.Exp(0.5); got != want {
		t.Errorf("nnExp[float64](0.5) = %v, want math.Exp %v", got, want)
	}
	if got, want := nnExp(float32(0.5)), float32(expLane(0.5)); got != want {
		t.Errorf("nnExp[float32](0.5) = %v, want expLane %v", got, want)
	}
}
