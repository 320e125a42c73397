package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestClipGradNorm(t *testing.T) {
	// Gradients [3, 4] and [12]: the global norm is sqrt(9+16+144) = 13.
	for _, tc := range []struct {
		name    string
		maxNorm float64
		want    [3]float64 // gradients after the call
	}{
		{"clips to half", 6.5, [3]float64{1.5, 2, 6}},
		{"below the limit", 20, [3]float64{3, 4, 12}},
		{"at the limit", 13, [3]float64{3, 4, 12}},
		{"disabled", 0, [3]float64{3, 4, 12}},
		{"disabled negative", -1, [3]float64{3, 4, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := param32("a", 0, 0), param64("b", 0)
			setGrad(a, 3, 4)
			setGrad(b, 12)
			noGrad := param32("unused", 1)
			norm := ClipGradNorm([]*autograd.Tensor{a, noGrad, b}, tc.maxNorm)
			if norm != 13 {
				t.Errorf("norm = %v, want 13", norm)
			}
			got := [3]float64{a.GradAt(0), a.GradAt(1), b.GradAt(0)}
			for i := range got {
				if !closeRel(got[i], tc.want[i], 1e-7) {
					t.Errorf("grads = %v, want %v", got, tc.want)
					break
				}
			}
			if noGrad.HasGrad() {
				t.Error("ClipGradNorm gave a gradient buffer to a parameter without one")
			}
		})
	}
}

// TestClipGradNormLarge checks a multi-block, core-split norm against a plain
// sum, the clipped norm, and independence from the number of cores.
func TestClipGradNormLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p := randParam32(rng, "w", 37*blockLen+123)
	q := randParam32(rng, "v", 1000)
	fillGrads32(rng, 0.01, p, q)
	var plain float64
	for _, x := range []*autograd.Tensor{p, q} {
		for _, g := range autograd.Grads[float32](x) {
			plain += float64(g) * float64(g)
		}
	}
	plain = math.Sqrt(plain)
	norms := map[int]float64{}
	for _, procs := range []int{1, 2, 5} {
		e := autograd.NewEngine(autograd.EngineOptions{Cores: procs})
		norms[procs] = ClipGradNormOn(e, []*autograd.Tensor{p, q}, 0)
		e.Close()
	}
	if !closeRel(norms[1], plain, 1e-12) {
		t.Errorf("norm %v, plain sum gives %v", norms[1], plain)
	}
	if math.Float64bits(norms[2]) != math.Float64bits(norms[1]) || math.Float64bits(norms[5]) != math.Float64bits(norms[1]) {
		t.Errorf("norm depends on the number of cores: %v", norms)
	}
	if n := ClipGradNorm([]*autograd.Tensor{p, q}, 1); !closeRel(n, plain, 1e-12) {
		t.Errorf("returned %v, want the pre-clip norm %v", n, plain)
	}
	if after := ClipGradNorm([]*autograd.Tensor{p, q}, 0); !closeRel(after, 1, 1e-6) {
		t.Errorf("norm after clipping to 1 is %v", after)
	}
}

func TestClipGradNormLeavesNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		a, b := param32("a", 0, 0), param32("b", 0)
		setGrad(a, 3, 4)
		setGrad(b, bad)
		norm := ClipGradNorm([]*autograd.Tensor{a, b}, 1)
		if !math.IsNaN(norm) && !math.IsInf(norm, 1) {
			t.Errorf("grad %v: norm %v, want non-finite", bad, norm)
		}
		if a.GradAt(0) != 3 || a.GradAt(1) != 4 {
			t.Errorf("grad %v: finite gradients changed to %v, %v", bad, a.GradAt(0), a.GradAt(1))
		}
	}
}

func TestGradsFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	big := randParam32(rng, "big", 5*blockLen+7)
	for _, tc := range []struct {
		name   string
		poison func(params []*autograd.Tensor) // may write a bad value
		want   string                          // "" when all finite
	}{
		{"all finite", func([]*autograd.Tensor) {}, ""},
		{"NaN in float64", func(ps []*autograd.Tensor) { autograd.Grads[float64](ps[1])[1] = math.NaN() }, "b64"},
		{"-Inf in float32", func(ps []*autograd.Tensor) { autograd.Grads[float32](ps[0])[0] = float32(math.Inf(-1)) }, "a"},
		{"Inf in the last block", func(ps []*autograd.Tensor) {
			g := autograd.Grads[float32](ps[2])
			g[len(g)-1] = float32(math.Inf(1))
		}, "big"},
		{"first of two", func(ps []*autograd.Tensor) {
			autograd.Grads[float32](ps[2])[blockLen+3] = float32(math.NaN())
			autograd.Grads[float32](ps[3])[0] = float32(math.NaN())
		}, "big"},
		{"unnamed", func(ps []*autograd.Tensor) { autograd.Grads[float32](ps[3])[0] = float32(math.Inf(1)) }, "params[3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := param32("a", 1, 2), param64("b64", 1, 2)
			unnamed := param32("", 1)
			fillGrads32(rng, 1, a, big, unnamed)
			setGrad(b, 0.5, -0.5)
			params := []*autograd.Tensor{a, b, big, unnamed, param32("nograd", 1)}
			tc.poison(params)
			ok, bad := GradsFinite(params)
			if ok != (tc.want == "") || bad != tc.want {
				t.Errorf("GradsFinite = %v, %q; want %v, %q", ok, bad, tc.want == "", tc.want)
			}
		})
	}
}

func TestZeroGrad(t *testing.T) {
	a, b, c := param32("a", 1, 2), param64("b", 3), param32("c", 4)
	setGrad(a, 5, 6)
	setGrad(b, 7)
	ZeroGrad([]*autograd.Tensor{a, b, c})
	if a.GradAt(0) != 0 || a.GradAt(1) != 0 || b.GradAt(0) != 0 {
		t.Errorf("gradients after ZeroGrad: %v %v %v", a.GradAt(0), a.GradAt(1), b.GradAt(0))
	}
	if !a.HasGrad() || c.HasGrad() {
		t.Error("ZeroGrad should keep existing buffers and create none")
	}
}

// TestGradHelpersAllocateNothing: clipping and the finiteness check run every
// step, so in steady state they must not allocate either.
func TestGradHelpersAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops buffers on purpose)")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	params := []*autograd.Tensor{randParam32(rng, "w", 40*blockLen), param64("b", 1, 2)}
	fillGrads32(rng, 1, params[0])
	setGrad(params[1], 0.1, 0.2)
	clip := func() { ClipGradNorm(params, 1e-3) }
	finite := func() { GradsFinite(params) }
	for name, f := range map[string]func(){"ClipGradNorm": clip, "GradsFinite": finite} {
		f()
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s allocates %v times per call", name, a)
		}
	}
}
