package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDropoutGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 25))
	for _, shape := range [][]int{{7}, {3, 5}, {2, 1, 3}} {
		// Re-seeded inside f so that every evaluation draws the same mask.
		f := func(tp *Tape, in []*Tensor) *Tensor {
			return tp.Dropout(in[0], 0.3, rand.New(rand.NewPCG(1, 1)))
		}
		checkOp(t, "Dropout", f, param(rng, shape...))
	}
}

func TestDropout(t *testing.T) {
	const n, p = 200000, 0.25
	for _, dt := range []DType{Float64, Float32} {
		x := New(Float64, n)
		for i := range x.F64() {
			x.F64()[i] = 1 + float64(i%7)
		}
		if dt == Float32 {
			x = ToFloat32(x)
		}
		x.SetRequiresGrad(true)
		tp := NewTape()
		out := tp.Dropout(x, p, rand.New(rand.NewPCG(2, 3)))
		if err := tp.Backward(tp.Sum(out)); err != nil {
			t.Fatal(err)
		}
		dropped := 0
		for i := 0; i < n; i++ {
			o, g := out.At(i), x.GradAt(i)
			switch {
			case o == 0 && g == 0:
				dropped++
			case math.Abs(o-x.At(i)/(1-p)) < 1e-6*o && math.Abs(g-1/(1-p)) < 1e-6:
			default:
				t.Fatalf("%v: element %d: x %v out %v grad %v", dt, i, x.At(i), o, g)
			}
		}
		// Binomial(n, p): standard deviation sqrt(n p (1-p)) ~ 194.
		if frac := float64(dropped) / n; math.Abs(frac-p) > 0.005 {
			t.Errorf("%v: dropped fraction %.4f, want %.2f", dt, frac, p)
		}
	}
}

func TestDropoutDeterministic(t *testing.T) {
	x := RandN(rand.New(rand.NewPCG(4, 5)), 1, 1001)
	tp := NewNoGradTape()
	a := tp.Dropout(x, 0.5, rand.New(rand.NewPCG(6, 7)))
	b := tp.Dropout(x, 0.5, rand.New(rand.NewPCG(6, 7)))
	c := tp.Dropout(x, 0.5, rand.New(rand.NewPCG(6, 8)))
	differ := false
	for i := 0; i < x.Len(); i++ {
		if a.At(i) != b.At(i) {
			t.Fatalf("same seed differs at %d", i)
		}
		differ = differ || a.At(i) != c.At(i)
	}
	if !differ {
		t.Errorf("different seeds gave the same mask")
	}
	if tp.Len() != 0 {
		t.Errorf("no-grad tape recorded %d ops", tp.Len())
	}
}

func TestDropoutZero(t *testing.T) {
	x := param(rand.New(rand.NewPCG(8, 9)), 3, 4)
	tp := NewTape()
	if out := tp.Dropout(x, 0, nil); out != x || tp.Len() != 0 {
		t.Errorf("Dropout p=0 returned a new tensor or recorded an op")
	}
	for _, p := range []float64{-0.1, 1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Dropout p=%v did not panic", p)
				}
			}()
			tp.Dropout(x, p, rand.New(rand.NewPCG(1, 1)))
		}()
	}
}
