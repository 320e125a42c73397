package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestRMSNormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	// A width-1 row with a small eps is left out: its output is sign(x)·w
	// and the true gradient w·eps/(x²+eps)^1.5 drowns in rounding noise.
	tests := []struct {
		shape []int
		eps   float64
	}{
		{[]int{1, 1}, 0.5}, {[]int{1, 2}, 1e-5}, {[]int{1, 7}, 1e-5}, {[]int{3, 5}, 1e-5},
		{[]int{3, 5}, 0.5}, {[]int{2, 3, 4}, 1e-6}, {[]int{6}, 1e-5},
	}
	for _, tc := range tests {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.RMSNorm(in[0], in[1], tc.eps) }
		x, w := param(rng, tc.shape...), param(rng, tc.shape[len(tc.shape)-1])
		name := fmt.Sprintf("RMSNorm %v eps %g", tc.shape, tc.eps)
		checkOp(t, name, f, x, w)
		x.SetRequiresGrad(false) // gradients into one input at a time
		checkOp(t, name+" weight only", f, x, w)
		x.SetRequiresGrad(true)
		w.SetRequiresGrad(false)
		checkOp(t, name+" x only", f, x, w)
	}
}

func TestRMSNormHand(t *testing.T) {
	// mean(x²) = 7.5 for x = [1 2 3 4].
	r := 1 / math.Sqrt(7.5+1e-5)
	want := []float64{1 * r * 1, 2 * r * 0.5, 3 * r * 2, 4 * r * -1}
	for _, dt := range nnDTypes {
		x := nnAs(FromSlice([]float64{1, 2, 3, 4}, 1, 4), dt)
		w := nnAs(FromSlice([]float64{1, 0.5, 2, -1}, 4), dt)
		y := NewNoGradTape().RMSNorm(x, w, 1e-5)
		for i, v := range want {
			if got := y.At(i); !nnClose(got, v, nnTol(dt)) {
				t.Errorf("%v RMSNorm[%d] = %v, want %v", dt, i, got, v)
			}
		}
	}
}

func TestRMSNormLargeMatchesReference(t *testing.T) {
	// Parallel rows and columns; compares values and both gradients with a
	// plain float64 loop.
	const n, d = 257, 384
	rng := rand.New(rand.NewPCG(21, 22))
	x64, w64, dy64 := RandN(rng, 2, n, d), RandN(rng, 1, d), RandN(rng, 1, n, d)
	wantY, wantDX, wantDW := make([]float64, n*d), make([]float64, n*d), make([]float64, d)
	for r := range n {
		xr, dyr := x64.f64[r*d:(r+1)*d], dy64.f64[r*d:(r+1)*d]
		var ss, gx float64
		for i, v := range xr {
			ss += v * v
			gx += dyr[i] * w64.f64[i] * v
		}
		rs := 1 / math.Sqrt(ss/d+1e-6)
		for i, v := range xr {
			wantY[r*d+i] = v * rs * w64.f64[i]
			wantDX[r*d+i] = rs*dyr[i]*w64.f64[i] - rs*rs*rs*v*gx/d
			wantDW[i] += dyr[i] * v * rs
		}
	}
	for _, dt := range nnDTypes {
		x, w := nnAs(x64, dt), nnAs(w64, dt)
		x.SetRequiresGrad(true)
		w.SetRequiresGrad(true)
		tp := NewTape()
		y := tp.RMSNorm(x, w, 1e-6)
		var loss *Tensor
		if dt == Float64 {
			loss = tp.project(y, dy64.f64)
		} else {
			loss = tp.project(y, ToFloat32(dy64).f32)
		}
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		tol := 10 * nnTol(dt)
		for i := range wantY {
			if !nnClose(y.At(i), wantY[i], tol) || !nnClose(x.GradAt(i), wantDX[i], tol) {
				t.Fatalf("%v RMSNorm at %d: y %v dx %v, want %v %v", dt, i, y.At(i), x.GradAt(i), wantY[i], wantDX[i])
			}
		}
		for i, v := range wantDW {
			if got := w.GradAt(i); !nnClose(got, v, tol*math.Sqrt(n)) {
				t.Fatalf("%v RMSNorm dw[%d] = %v, want %v", dt, i, got, v)
			}
		}
	}
}

func TestRMSNormPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"weight width": func() { NewNoGradTape().RMSNorm(New(Float32, 2, 4), New(Float32, 3), 1e-5) },
		"weight rank":  func() { NewNoGradTape().RMSNorm(New(Float32, 2, 4), New(Float32, 1, 4), 1e-5) },
		"mixed dtypes": func() { NewNoGradTape().RMSNorm(New(Float32, 2, 4), New(Float64, 4), 1e-5) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("RMSNorm with bad %s did not panic", name)
				}
			}()
			f()
		})
	}
}

// TestRMSNormBackwardRowVectorMatchesGoLoop: the AVX-512 kernels of the
// backward row give the Go loops' bits for dx and the weight-gradient sums,
// on widths around their 8 and 16 lanes.
func TestRMSNormBackwardRowVectorMatchesGoLoop(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for _, d := range []int{1, 7, 8, 15, 16, 17, 33, 64, 100, 256} {
		vals := func() []float32 {
			x := make([]float32, d)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			return x
		}
		dy, x, w, dx0 := vals(), vals(), vals(), vals()
		acc0 := make([]float64, d)
		for i := range acc0 {
			acc0[i] = rng.NormFloat64()
		}
		run := func(vec bool) ([]float32, []float64) {
			saved := hasAVX512
			hasAVX512 = vec
			defer func() { hasAVX512 = saved }()
			dx, acc := append([]float32(nil), dx0...), append([]float64(nil), acc0...)
			rmsNormBackwardRow(dx, acc, dy, x, w, 0, 0.83)
			return dx, acc
		}
		vdx, vacc := run(true)
		gdx, gacc := run(false)
		for i := range vdx {
			if math.Float32bits(vdx[i]) != math.Float32bits(gdx[i]) || math.Float64bits(vacc[i]) != math.Float64bits(gacc[i]) {
				t.Fatalf("d=%d [%d]: vector dx %v acc %v; Go dx %v acc %v", d, i, vdx[i], vacc[i], gdx[i], gacc[i])
			}
		}
	}
}
