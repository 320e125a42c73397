package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestRoPEGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	tests := []struct {
		shape  []int
		offset int
	}{
		{[]int{1, 1, 1, 2}, 0},
		{[]int{2, 3, 2, 4}, 0},
		{[]int{1, 5, 3, 6}, 7},
		{[]int{2, 2, 1, 10}, 100},
	}
	for _, tc := range tests {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.RoPE(in[0], 10000, tc.offset) }
		checkOp(t, fmt.Sprintf("RoPE %v offset %d", tc.shape, tc.offset), f, param(rng, tc.shape...))
	}
}

func TestRoPEHand(t *testing.T) {
	// Dh = 4, theta = 10000: frequencies 1 and 10000^(-1/2) = 0.01; pairs are
	// (x0, x2) and (x1, x3). Position 0 is the identity; position 1 rotates
	// by 1 and 0.01 radians.
	x := []float64{1, 2, 3, 4, 1, 2, 3, 4}
	c1, s1, c2, s2 := math.Cos(1), math.Sin(1), math.Cos(0.01), math.Sin(0.01)
	want := []float64{
		1, 2, 3, 4,
		1*c1 - 3*s1, 2*c2 - 4*s2, 3*c1 + 1*s1, 4*c2 + 2*s2,
	}
	for _, dt := range nnDTypes {
		y := NewNoGradTape().RoPE(nnAs(FromSlice(x, 1, 2, 1, 4), dt), 10000, 0)
		for i, w := range want {
			if got := y.At(i); !nnClose(got, w, nnTol(dt)) {
				t.Errorf("%v RoPE[%d] = %v, want %v", dt, i, got, w)
			}
		}
		// Starting at position 1 rotates the first step as position 1.
		y1 := NewNoGradTape().RoPE(nnAs(FromSlice(x[:4], 1, 1, 1, 4), dt), 10000, 1)
		for i, w := range want[4:] {
			if got := y1.At(i); !nnClose(got, w, nnTol(dt)) {
				t.Errorf("%v RoPE offset 1 [%d] = %v, want %v", dt, i, got, w)
			}
		}
	}
}

func TestRoPEOffsetMatchesFullSequence(t *testing.T) {
	// Decoding step by step (T = 1 at growing offsets, past the cached table
	// size) equals rotating the whole sequence at once.
	const b, seq, h, dh = 2, 150, 3, 8
	rng := rand.New(rand.NewPCG(25, 26))
	x := RandN(rng, 1, b, seq, h, dh)
	full := NewNoGradTape().RoPE(x, 500000, 0)
	for p := 0; p < seq; p++ {
		step := New(Float64, b, 1, h, dh)
		for bi := range b {
			copy(step.f64[bi*h*dh:(bi+1)*h*dh], x.f64[(bi*seq+p)*h*dh:])
		}
		y := NewNoGradTape().RoPE(step, 500000, p)
		for bi := range b {
			for i := range h * dh {
				got, want := y.f64[bi*h*dh+i], full.f64[(bi*seq+p)*h*dh+i]
				if got != want {
					t.Fatalf("RoPE step at position %d [%d,%d] = %v, full sequence has %v", p, bi, i, got, want)
				}
			}
		}
	}
}

func TestRoPETablesConcurrent(t *testing.T) {
	// Tapes on many goroutines share the table cache while it grows.
	theta := 12345.0 // a key no other test uses, so the cache starts empty
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := g; p < 600; p += 37 {
				tab := DefaultEngine().ropeTables(6, theta, p+1)
				s, c := math.Sincos(float64(p) * math.Pow(theta, -2.0/6))
				if tab.npos <= p || tab.cos64[p*3+1] != c || tab.sin64[p*3+1] != s {
					errs <- fmt.Errorf("table for position %d: npos %d", p, tab.npos)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRoPEPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"odd Dh":          func() { NewNoGradTape().RoPE(New(Float32, 1, 2, 1, 3), 10000, 0) },
		"3-D x":           func() { NewNoGradTape().RoPE(New(Float32, 2, 1, 4), 10000, 0) },
		"zero theta":      func() { NewNoGradTape().RoPE(New(Float32, 1, 2, 1, 4), 0, 0) },
		"negative offset": func() { NewNoGradTape().RoPE(New(Float32, 1, 2, 1, 4), 10000, -1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("RoPE with %s did not panic", name)
				}
			}()
			f()
		})
	}
}

func ExampleTape_RoPE() {
	// One head of width 2 at positions 0 and 1 (theta is irrelevant when
	// Dh = 2: the only frequency is 1 radian per position).
	x := FromSlice([]float64{1, 0, 1, 0}, 1, 2, 1, 2) // [B, T, H, Dh]
	y := NewNoGradTape().RoPE(x, 10000, 0)
	fmt.Printf("%.4f\n", y.F64())
	// Output: [1.0000 0.0000 0.5403 0.8415]
}

// TestRoPERowVectorMatchesGoLoop: the AVX-512 rotation gives the Go loop's
// bits, forward and inverse, writing and adding, on half-row lengths around
// its 16 lanes.
func TestRoPERowVectorMatchesGoLoop(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{1, 15, 16, 17, 32, 40, 64} {
		vals := func() []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			return x
		}
		x1, x2, c, s, y1, y2 := vals(), vals(), vals(), vals(), vals(), vals()
		for _, inverse := range []bool{false, true} {
			for _, add := range []bool{false, true} {
				run := func(vec bool) ([]float32, []float32) {
					saved := hasAVX512
					hasAVX512 = vec
					defer func() { hasAVX512 = saved }()
					a, b := append([]float32(nil), y1...), append([]float32(nil), y2...)
					nnRopeRow(a, b, x1, x2, c, s, inverse, add)
					return a, b
				}
				va, vb := run(true)
				ga, gb := run(false)
				for i := range va {
					if math.Float32bits(va[i]) != math.Float32bits(ga[i]) || math.Float32bits(vb[i]) != math.Float32bits(gb[i]) {
						t.Fatalf("n=%d inverse=%v add=%v [%d]: vector %v,%v; Go %v,%v", n, inverse, add, i, va[i], vb[i], ga[i], gb[i])
					}
				}
			}
		}
	}
}

// TestRoPEBackwardAccumulates: a second use of x adds its gradient to the
// first instead of overwriting it.
func TestRoPEBackwardAccumulates(t *testing.T) {
	for _, dt := range []DType{Float64, Float32} {
		rng := rand.New(rand.NewPCG(43, 44))
		x := nnAs(param(rng, 2, 5, 3, 32), dt)
		x.SetRequiresGrad(true)
		w := nnAs(RandN(rng, 1, 2, 5, 3, 32), dt)
		grad := func(twice bool) []float64 {
			x.ZeroGrad()
			tp := NewTape()
			y := tp.RoPE(x, 10000, 0)
			if twice {
				y = tp.Add(y, tp.RoPE(x, 10000, 0))
			}
			if err := tp.Backward(tp.Sum(tp.Mul(y, w))); err != nil {
				t.Fatal(err)
			}
			g := make([]float64, x.Len())
			for i := range g {
				g[i] = x.GradAt(i)
			}
			return g
		}
		once, twice := grad(false), grad(true)
		for i := range once {
			if math.Abs(twice[i]-2*once[i]) > 1e-5*(1+math.Abs(once[i])) {
				t.Fatalf("%v: gradient [%d] of two uses %v, of one %v", dt, i, twice[i], once[i])
			}
		}
	}
}
