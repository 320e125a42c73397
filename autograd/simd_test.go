package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Exact activations in float64 for the float32 kernels' tests, with the
// limits at ±Inf spelled out (silu(-Inf) = 0, silu'(+Inf) = 1).

func refSig(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func refDSig(x float64) float64 {
	e := math.Exp(-math.Abs(x))
	return e / ((1 + e) * (1 + e))
}

func refSiLU(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	return x * refSig(x)
}

func refDSiLU(x float64) float64 {
	if math.IsInf(x, 0) {
		return refSig(x)
	}
	return refSig(x) + x*refDSig(x)
}

// TestActExpNeg checks the exponential inside the float32 kernels against
// math.Exp: its Taylor polynomial's bound (7.1e-9) plus rounding, across the
// clamp and at the reduction's half-way points.
func TestActExpNeg(t *testing.T) {
	xs := []float64{0, 0.5 * nnLn2, 1.5 * nnLn2, actClamp, -actClamp, 1e30, math.Inf(-1)}
	for i := -130000; i <= 130000; i++ {
		xs = append(xs, float64(i)/1000)
	}
	for _, x := range xs {
		c, got := actExpNeg(x)
		wantC := math.Max(-actClamp, math.Min(actClamp, x))
		want := math.Exp(-math.Abs(wantC))
		if c != wantC || math.Abs(got-want) > 7.5e-9*want {
			t.Fatalf("actExpNeg(%v) = %v, %v; want %v, %v (relative error %.3g)", x, c, got, wantC, want, got/want-1)
		}
	}
	if c, got := actExpNeg(math.NaN()); !math.IsNaN(c) || !math.IsNaN(got) {
		t.Errorf("actExpNeg(NaN) = %v, %v; want NaN", c, got)
	}
}

// actCase is one float32 activation kernel under test: run computes outs
// (accumulating into them for gradients) from ins; ref gives the exact
// result for element i given the starting outs, and the magnitude of the
// term added to each (zero for forward kernels).
type actCase struct {
	name  string
	nIn   int
	nOut  int
	accum bool
	run   func(out, in [][]float32)
	ref   func(in, out0 []float64) (want, term []float64)
}

var actCases = []actCase{
	{"sigmoidFwd", 1, 1, false, func(o, in [][]float32) { sigmoidFwdF32(o[0], in[0]) },
		func(in, _ []float64) ([]float64, []float64) { return []float64{refSig(in[0])}, []float64{0} }},
	{"siluFwd", 1, 1, false, func(o, in [][]float32) { siluFwdF32(o[0], in[0]) },
		func(in, _ []float64) ([]float64, []float64) { return []float64{refSiLU(in[0])}, []float64{0} }},
	{"swigluFwd", 2, 1, false, func(o, in [][]float32) { swigluFwdF32(o[0], in[0], in[1]) },
		func(in, _ []float64) ([]float64, []float64) { return []float64{refSiLU(in[0]) * in[1]}, []float64{0} }},
	{"sigmoidBwd", 2, 1, true, func(o, in [][]float32) { sigmoidBwdF32(o[0], in[1], in[0]) },
		func(in, o []float64) ([]float64, []float64) { return actAcc(o[0], in[1]*refDSig(in[0])) }},
	{"siluBwd", 2, 1, true, func(o, in [][]float32) { siluBwdF32(o[0], in[1], in[0]) },
		func(in, o []float64) ([]float64, []float64) { return actAcc(o[0], in[1]*refDSiLU(in[0])) }},
	{"swigluBwd", 3, 2, true, func(o, in [][]float32) { swigluBwdF32(o[0], o[1], in[2], in[0], in[1], false) },
		func(in, o []float64) ([]float64, []float64) {
			dg, tg := actAcc(o[0], in[2]*in[1]*refDSiLU(in[0]))
			du, tu := actAcc(o[1], in[2]*refSiLU(in[0]))
			return append(dg, du...), append(tg, tu...)
		}},
	{"swigluBwd overwriting", 3, 2, true, func(o, in [][]float32) { swigluBwdF32(o[0], o[1], in[2], in[0], in[1], true) },
		func(in, _ []float64) ([]float64, []float64) {
			// Near silu's turning point (gate -1.278) silu' cancels: the
			// error scales with g·up, not with the tiny result.
			return []float64{in[2] * in[1] * refDSiLU(in[0]), in[2] * refSiLU(in[0])},
				[]float64{math.Abs(in[2] * in[1]), math.Abs(in[2] * refSiLU(in[0]))}
		}},
	{"swigluBwdGate", 3, 1, true, func(o, in [][]float32) { swigluBwdGateF32(o[0], in[2], in[0], in[1]) },
		func(in, o []float64) ([]float64, []float64) { return actAcc(o[0], in[2]*in[1]*refDSiLU(in[0])) }},
	{"swigluBwdUp", 3, 1, true, func(o, in [][]float32) { swigluBwdUpF32(o[0], in[2], in[0]) },
		func(in, o []float64) ([]float64, []float64) { return actAcc(o[0], in[2]*refSiLU(in[0])) }},
}

func actAcc(acc, term float64) (want, mag []float64) {
	return []float64{acc + term}, []float64{math.Abs(term)}
}

// actSpecials are inputs at the edges: zeros, subnormals, the float32 exp
// range ends, the clamp, huge values, infinities and NaN.
var actSpecials = []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 1e-30, -1e-30, 0.34657359, -0.34657359,
	-1.2784645, 16.635532, -16.635532, 87.33, -87.33, 88.72, -88.72, 103.97, -103.97, 104, -104, 110, -110,
	119.99, -119.99, 120, -120, 121, -121, 1e6, -1e6, math.MaxFloat32, -math.MaxFloat32,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}

// actInputs returns n float32 values: a mix of normal, wide uniform and
// special ones (specials only if special is set).
func actInputs(rng *rand.Rand, n int, special bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		switch k := rng.IntN(8); {
		case special && k == 0:
			v[i] = actSpecials[rng.IntN(len(actSpecials))]
		case k < 4:
			v[i] = float32(rng.NormFloat64() * 3)
		default:
			v[i] = float32(rng.Float64()*240 - 120)
		}
	}
	return v
}

// actSetSIMD switches the kernels to level for the rest of a test.
func actSetSIMD(t testing.TB, level actSIMDLevel) {
	old := actSIMD
	actSIMD = level
	t.Cleanup(func() { actSIMD = old })
}

// actLevels are the instruction sets this CPU can run, scalar first.
func actLevels() []actSIMDLevel {
	var ls []actSIMDLevel
	for l := actSIMDNone; l <= actSIMDDetect(); l++ {
		ls = append(ls, l)
	}
	return ls
}

// actRun runs c on fresh copies of ins and outs0.
func actRun(c actCase, ins, outs0 [][]float32) [][]float32 {
	outs := make([][]float32, len(outs0))
	for i := range outs0 {
		outs[i] = append([]float32(nil), outs0[i]...)
	}
	c.run(outs, ins)
	return outs
}

// actTol is the accepted error of a float32 activation result: 2e-7
// relative, plus 1e-8 of the added term (the gradient kernels' cancellation)
// and a subnormal unit.
func actTol(want, term float64) float64 {
	return 2e-7*math.Abs(want) + 1e-8*term + 0x1p-149
}

// TestActKernelsAccuracy checks every float32 activation kernel on every
// instruction set this CPU has (the scalar Go fallback included) against
// the float64 reference, on awkward lengths with extreme values mixed in.
func TestActKernelsAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		for _, c := range actCases {
			for _, n := range []int{0, 1, 3, 7, 15, 16, 17, 1000, 4099} {
				ins := make([][]float32, c.nIn)
				for i := range ins {
					ins[i] = actInputs(rng, n, i == 0)
				}
				outs0 := make([][]float32, c.nOut)
				for i := range outs0 {
					outs0[i] = make([]float32, n)
					if c.accum {
						outs0[i] = actInputs(rng, n, false)
					}
				}
				outs := actRun(c, ins, outs0)
				name := fmt.Sprintf("level %d %s n=%d", level, c.name, n)
				actCheck(t, name, c, ins, outs0, outs)
			}
		}
	}
}

func actCheck(t *testing.T, name string, c actCase, ins, outs0, outs [][]float32) {
	t.Helper()
	in, o0 := make([]float64, len(ins)), make([]float64, len(outs0))
	bad := 0
	for i := range outs[0] {
		for j := range ins {
			in[j] = float64(ins[j][i])
		}
		for j := range outs0 {
			o0[j] = float64(outs0[j][i])
		}
		want, term := c.ref(in, o0)
		for j, w := range want {
			got := float64(outs[j][i])
			if w32 := float64(float32(w)); math.IsInf(w32, 0) {
				w = w32 // beyond the float32 range
			}
			ok := math.IsNaN(got) == math.IsNaN(w) && (math.IsNaN(w) || got == w || math.Abs(got-w) <= actTol(w, term[j]))
			if !ok && bad < 5 {
				t.Errorf("%s: output %d [%d] for inputs %v, start %v: got %v, want %v", name, j, i, in, o0, got, w)
			}
			if !ok {
				bad++
			}
		}
	}
}

// TestActKernelsMatchScalar checks that the vector kernels give the scalar
// Go kernels' results bit for bit (any NaN for NaN), so that a slice's tail,
// done in Go, is no different from its body.
func TestActKernelsMatchScalar(t *testing.T) {
	levels := actLevels()[1:]
	if len(levels) == 0 {
		t.Skip("no vector instruction set on this CPU")
	}
	rng := rand.New(rand.NewPCG(32, 33))
	const n = 4099
	for _, c := range actCases {
		ins := make([][]float32, c.nIn)
		for i := range ins {
			ins[i] = actInputs(rng, n, true)
		}
		outs0 := make([][]float32, c.nOut)
		for i := range outs0 {
			outs0[i] = actInputs(rng, n, true)
		}
		actSetSIMD(t, actSIMDNone)
		want := actRun(c, ins, outs0)
		for _, level := range levels {
			actSIMD = level
			got := actRun(c, ins, outs0)
			for j := range got {
				for i, g := range got[j] {
					w := want[j][i]
					if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
						t.Errorf("level %d %s output %d [%d] (inputs %v): %v, scalar %v", level, c.name, j, i,
							actColumn(ins, i), g, w)
						break
					}
				}
			}
		}
	}
}

func actColumn(s [][]float32, i int) []float32 {
	c := make([]float32, len(s))
	for j := range s {
		c[j] = s[j][i]
	}
	return c
}

// TestActKernelsSweep checks sigmoid, silu and their derivatives on a dense
// sweep of float32 values in [-110, 110] (every 997th bit pattern) and logs
// the largest errors in float32 units in the last place.
func TestActKernelsSweep(t *testing.T) {
	var xs []float32
	for _, sign := range []uint32{0, 1 << 31} {
		for b := uint32(0); b <= math.Float32bits(110); b += 997 {
			xs = append(xs, math.Float32frombits(b|sign))
		}
	}
	n := len(xs)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	sweeps := []struct {
		name string
		run  func(out []float32)
		ref  func(float64) float64
	}{
		{"sigmoid", func(o []float32) { sigmoidFwdF32(o, xs) }, refSig},
		{"silu", func(o []float32) { siluFwdF32(o, xs) }, refSiLU},
		{"sigmoid'", func(o []float32) { sigmoidBwdF32(o, ones, xs) }, refDSig},
		{"silu'", func(o []float32) { siluBwdF32(o, ones, xs) }, refDSiLU},
	}
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		out := make([]float32, n)
		for _, s := range sweeps {
			clear(out)
			s.run(out)
			worstRel, worstULP := 0.0, 0.0
			for i, x := range xs {
				want, got := s.ref(float64(x)), float64(out[i])
				err := math.Abs(got - want)
				if err > actTol(want, 0) {
					t.Errorf("level %d %s(%v) = %v, want %v", level, s.name, x, got, want)
				}
				if ulp := actULP(float32(want)); ulp > 0 {
					worstULP = max(worstULP, err/ulp)
				}
				if math.Abs(want) >= 0x1p-126 {
					worstRel = max(worstRel, err/math.Abs(want))
				}
			}
			t.Logf("level %d %s: %d values, max error %.3f ulp, max relative error %.3g (normal results)",
				level, s.name, n, worstULP, worstRel)
		}
	}
}

// actULP returns the spacing of float32 values at |v|.
func actULP(v float32) float64 {
	a := math.Abs(float64(v))
	return float64(math.Nextafter32(float32(a), float32(math.Inf(1)))) - a
}

// TestSwiGLUBwdAliased checks swigluBwdF32 with dgate and dup the same slice
// (gate and up the same tensor) against the two updates applied in turn.
func TestSwiGLUBwdAliased(t *testing.T) {
	rng := rand.New(rand.NewPCG(34, 35))
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		for _, n := range []int{1, 16, 17, 1000} {
			g, x, d0 := actInputs(rng, n, false), actInputs(rng, n, true), actInputs(rng, n, false)
			d := append([]float32(nil), d0...)
			swigluBwdF32(d, d, g, x, x, false)
			want := append([]float32(nil), d0...)
			swigluBwdUpF32(want, g, x)
			swigluBwdGateF32(want, g, x, x)
			for i := range d {
				if math.Float32bits(d[i]) != math.Float32bits(want[i]) && !(d[i] != d[i] && want[i] != want[i]) {
					t.Errorf("level %d n=%d [%d]: aliased %v, in turn %v", level, n, i, d[i], want[i])
					break
				}
			}
		}
	}
}

// TestSwiGLUBwdOverwriteMatchesZeros checks that swigluBwdF32 with overwrite
// writes what it adds onto zeroed gradients (equal as numbers: a zero term
// keeps its sign instead of becoming +0), on every instruction set, from
// gradients that held garbage.
func TestSwiGLUBwdOverwriteMatchesZeros(t *testing.T) {
	rng := rand.New(rand.NewPCG(38, 39))
	for _, level := range actLevels() {
		actSetSIMD(t, level)
		for _, n := range []int{1, 7, 16, 17, 1000} {
			g, x, u := actInputs(rng, n, true), actInputs(rng, n, true), actInputs(rng, n, true)
			wantG, wantU := make([]float32, n), make([]float32, n)
			swigluBwdF32(wantG, wantU, g, x, u, false)
			gotG, gotU := actInputs(rng, n, true), actInputs(rng, n, true)
			swigluBwdF32(gotG, gotU, g, x, u, true)
			for i := range n {
				for _, p := range [][2]float32{{gotG[i], wantG[i]}, {gotU[i], wantU[i]}} {
					if p[0] != p[1] && !(p[0] != p[0] && p[1] != p[1]) {
						t.Fatalf("level %d n=%d [%d] (g %v, gate %v, up %v): overwrite %v, onto zeros %v", level, n, i, g[i], x[i], u[i], p[0], p[1])
					}
				}
			}
		}
	}
}

// TestActKernelsMatchOldLoops compares the kernels with the loops they
// replace on finite inputs (the old ones give NaN for silu(-Inf)), within
// the old loops' own extra roundings.
func TestActKernelsMatchOldLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(36, 37))
	const n = 1000
	x, u, g, a, b := actInputs(rng, n, false), actInputs(rng, n, false), actInputs(rng, n, false),
		actInputs(rng, n, false), actInputs(rng, n, false)
	pairs := []struct {
		name     string
		new, old func(o1, o2 []float32)
	}{
		{"sigmoidFwd", func(o, _ []float32) { sigmoidFwdF32(o, x) }, func(o, _ []float32) { oldSigmoidFwd(o, x) }},
		{"sigmoidBwd", func(o, _ []float32) { sigmoidBwdF32(o, g, x) }, func(o, _ []float32) { oldSigmoidBwd(o, g, x) }},
		{"siluFwd", func(o, _ []float32) { siluFwdF32(o, x) }, func(o, _ []float32) { oldSiLUFwd(o, x) }},
		{"siluBwd", func(o, _ []float32) { siluBwdF32(o, g, x) }, func(o, _ []float32) { oldSiLUBwd(o, g, x) }},
		{"swigluFwd", func(o, _ []float32) { swigluFwdF32(o, x, u) }, func(o, _ []float32) { oldSwiGLUFwd(o, x, u) }},
		{"swigluBwd", func(o1, o2 []float32) { swigluBwdF32(o1, o2, g, x, u, false) },
			func(o1, o2 []float32) { oldSwiGLUBwd(o1, o2, g, x, u) }},
	}
	for _, p := range pairs {
		n1, n2 := append([]float32(nil), a...), append([]float32(nil), b...)
		o1, o2 := append([]float32(nil), a...), append([]float32(nil), b...)
		p.new(n1, n2)
		p.old(o1, o2)
		if e := normRelErr(f32to64(append(n1, n2...)), f32to64(append(o1, o2...))); e > 1e-7 {
			t.Errorf("%s: kernels and old loops differ by %.3g (relative norm)", p.name, e)
		}
	}
}

func f32to64(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}
