package optim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestAdamWTwoStepsByHand checks two updates of a 3-element parameter against
// values worked out by hand (in 40-digit decimal arithmetic) with
// lr 0.1, betas (0.9, 0.999), eps 1e-8, weight decay 0.1.
//
//	p0 = [1, -2, 0.5]   g1 = [0.5, -1, 2]   g2 = [0.1, 0, -1]
//
// Step 1 (bias corrections 1-0.9 = 0.1 and 1-0.999 = 0.001):
//
//	p  = 0.99 * p0                       = [0.99, -1.98, 0.495]
//	m1 = 0.1 * g1                        = [0.05, -0.1, 0.2]
//	v1 = 0.001 * g1²                     = [0.00025, 0.001, 0.004]
//	m̂ = m1/0.1 = g1, sqrt(v̂) = sqrt(v1/0.001) = |g1|
//	p1 = p - 0.1 * g1/(|g1| + 1e-8)       ≈ [0.89, -1.88, 0.395] (+ eps terms)
//
// Step 2 (bias corrections 1-0.81 = 0.19 and 1-0.998001 = 0.001999):
//
//	m2 = 0.9*m1 + 0.1*g2                 = [0.055, -0.09, 0.08]
//	v2 = 0.999*v1 + 0.001*g2²            = [0.00025975, 0.000999, 0.004996]
//	p2 = 0.99*p1 - 0.1*(m2/0.19) / (sqrt(v2/0.001999) + 1e-8)
//	   e.g. p2[0] = 0.8811 - 0.1*0.2894737/(0.3604719 + 1e-8) = 0.8007959...
func TestAdamWTwoStepsByHand(t *testing.T) {
	want1 := []float64{0.8900000019999999600, -1.880000000999999990, 0.3950000004999999975}
	want2 := []float64{0.8007959063646512102, -1.794194176524188208, 0.3644162966974313579}
	wantM := []float64{0.055, -0.09, 0.08}
	wantV := []float64{0.00025975, 0.000999, 0.004996}
	cfg := AdamWConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1}
	for _, tc := range []struct {
		name string
		p    *autograd.Tensor
		tol  float64
	}{
		{"float64", param64("w", 1, -2, 0.5), 1e-14},
		{"float32", param32("w", 1, -2, 0.5), 2e-6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := mustAdamW(t, []*autograd.Tensor{tc.p}, cfg)
			for step, c := range []struct{ g, want []float64 }{{[]float64{0.5, -1, 2}, want1}, {[]float64{0.1, 0, -1}, want2}} {
				setGrad(tc.p, c.g...)
				o.Step()
				for i, w := range c.want {
					if got := tc.p.At(i); !closeRel(got, w, tc.tol) {
						t.Errorf("step %d: p[%d] = %.17g, want %.17g", step+1, i, got, w)
					}
				}
			}
			st := o.State()
			for i := range wantM {
				if got := st["exp_avg.w"].At(i); !closeRel(got, wantM[i], tc.tol) {
					t.Errorf("exp_avg[%d] = %.17g, want %.17g", i, got, wantM[i])
				}
				if got := st["exp_avg_sq.w"].At(i); !closeRel(got, wantV[i], tc.tol) {
					t.Errorf("exp_avg_sq[%d] = %.17g, want %.17g", i, got, wantV[i])
				}
			}
			if o.Steps() != 2 {
				t.Errorf("Steps() = %d, want 2", o.Steps())
			}
		})
	}
}

// TestAdamWWeightDecayGroups uses zero gradients, so the only change a step
// makes is the decay p *= 1 - lr*wd, which must hit the decay group alone.
func TestAdamWWeightDecayGroups(t *testing.T) {
	onlyW := func(name string) bool { return name != "w" }
	for _, tc := range []struct {
		name    string
		noDecay func(string) bool
		decayed []string
	}{
		{"default names", nil, []string{"w", "mlp.up.weight"}},
		{"custom predicate", onlyW, []string{"w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"w", "mlp.up.weight", "layers.0.input_layernorm.weight", "proj.bias", "embed_tokens.weight"}
			var params []*autograd.Tensor
			for _, n := range names {
				p := param32(n, 2, -4)
				setGrad(p, 0, 0)
				params = append(params, p)
			}
			o := mustAdamW(t, params, AdamWConfig{LR: 0.5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.2, NoDecay: tc.noDecay})
			o.Step()
			for _, p := range params {
				decays := false
				for _, d := range tc.decayed {
					decays = decays || d == p.Name
				}
				want := []float64{2, -4}
				if decays {
					want = []float64{2 * 0.9, -4 * 0.9} // 1 - 0.5*0.2
				}
				if o.Decays(p.Name) != decays {
					t.Errorf("Decays(%q) = %v, want %v", p.Name, o.Decays(p.Name), decays)
				}
				for i, w := range want {
					if got := p.At(i); !closeRel(got, w, 1e-6) {
						t.Errorf("%s[%d] = %v, want %v", p.Name, i, got, w)
					}
				}
			}
		})
	}
}

// TestAdamWBiasCorrection: with a constant gradient g the corrected moments
// are exactly g and g², so every step moves p by lr*g/(|g|+eps), whatever
// the betas. Without the correction the first step would move by
// lr*(1-beta1)/sqrt(1-beta2), a different amount for each pair below.
func TestAdamWBiasCorrection(t *testing.T) {
	for _, betas := range [][2]float64{{0.9, 0.999}, {0.5, 0.9}, {0, 0.99}, {0.99, 0.5}} {
		g := []float64{0.5, -3, 1e-3}
		p := param64("w", 0, 0, 0)
		lr, eps := 0.01, 1e-8
		o := mustAdamW(t, []*autograd.Tensor{p}, AdamWConfig{LR: lr, Beta1: betas[0], Beta2: betas[1], Eps: eps})
		prev := []float64{0, 0, 0}
		for step := 1; step <= 6; step++ {
			setGrad(p, g...)
			o.Step()
			for i := range g {
				want := -lr * g[i] / (math.Abs(g[i]) + eps)
				if got := p.At(i) - prev[i]; !closeRel(got, want, 1e-9) {
					t.Errorf("betas %v step %d: p[%d] moved %.15g, want %.15g", betas, step, i, got, want)
				}
				prev[i] = p.At(i)
			}
		}
	}
}

// adamwReference is a plain float64 AdamW over one parameter, written from
// the formulas, for comparison with the fused kernel.
func adamwReference(p, m, v, g []float64, lr, b1, b2, eps, wd float64, step int) {
	bc1 := 1 - math.Pow(b1, float64(step))
	bc2 := 1 - math.Pow(b2, float64(step))
	for i := range p {
		p[i] -= lr * wd * p[i]
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		p[i] -= lr * (m[i] / bc1) / (math.Sqrt(v[i]/bc2) + eps)
	}
}

// TestAdamWMatchesReference runs the fused, core-split kernel on a parameter
// large enough to be split and compares it with adamwReference.
func TestAdamWMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3*adamwGrain + 17
	p := autograd.NewParam(autograd.Float64, "w", n)
	ref := make([]float64, n)
	for i := range ref {
		ref[i] = rng.NormFloat64()
	}
	copy(p.F64(), ref)
	m, v := make([]float64, n), make([]float64, n)
	cfg := AdamWConfig{LR: 3e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	o := mustAdamW(t, []*autograd.Tensor{p}, cfg)
	for step := 1; step <= 5; step++ {
		g := autograd.Grads[float64](p)
		for i := range g {
			g[i] = rng.NormFloat64()
		}
		o.Step()
		adamwReference(ref, m, v, g, cfg.LR, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay, step)
	}
	for i := range ref {
		if !closeRel(p.F64()[i], ref[i], 1e-12) {
			t.Fatalf("p[%d] = %.17g, reference %.17g", i, p.F64()[i], ref[i])
		}
	}
}

// TestAdamWSplitIsBitwiseStable runs the same steps with one core and with
// several: the element-wise update must not depend on the split.
func TestAdamWSplitIsBitwiseStable(t *testing.T) {
	run := func(procs int) []float32 {
		e := autograd.NewEngine(autograd.EngineOptions{Cores: procs})
		defer e.Close()
		rng := rand.New(rand.NewPCG(3, 4))
		p := randParam32(rng, "w", 4*adamwGrain+5)
		o, err := NewAdamWOn(e, []*autograd.Tensor{p}, DefaultAdamWConfig())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			fillGrads32(rng, 1, p)
			o.Step()
		}
		return p.F32()
	}
	one, many := run(1), run(4)
	for i := range one {
		if math.Float32bits(one[i]) != math.Float32bits(many[i]) {
			t.Fatalf("p[%d]: %v with 1 core, %v with 4", i, one[i], many[i])
		}
	}
}

// TestAdamWStepAllocatesNothing holds the no-allocation promise, including
// for a parameter split across cores.
func TestAdamWStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector (sync.Pool drops buffers on purpose)")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	rng := rand.New(rand.NewPCG(5, 6))
	params := []*autograd.Tensor{randParam32(rng, "big.weight", 8*adamwGrain), randParam32(rng, "norm.weight", 64), param64("w64", 1, 2, 3)}
	fillGrads32(rng, 1, params[:2]...)
	setGrad(params[2], 0.1, 0.2, 0.3)
	o := mustAdamW(t, params, DefaultAdamWConfig())
	o.Step()
	if a := testing.AllocsPerRun(20, o.Step); a != 0 {
		t.Errorf("Step allocates %v times per call", a)
	}
}

func TestAdamWConfigErrors(t *testing.T) {
	ok := DefaultAdamWConfig()
	for _, tc := range []struct {
		name string
		mod  func(*AdamWConfig)
		want string
	}{
		{"negative lr", func(c *AdamWConfig) { c.LR = -1 }, "lr"},
		{"nan lr", func(c *AdamWConfig) { c.LR = math.NaN() }, "lr"},
		{"beta1 one", func(c *AdamWConfig) { c.Beta1 = 1 }, "beta1"},
		{"beta2 negative", func(c *AdamWConfig) { c.Beta2 = -0.1 }, "beta2"},
		{"zero eps", func(c *AdamWConfig) { c.Eps = 0 }, "eps"},
		{"negative decay", func(c *AdamWConfig) { c.WeightDecay = -0.1 }, "weight decay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			_, err := NewAdamW([]*autograd.Tensor{param32("w", 1)}, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestNewAdamWParamErrors(t *testing.T) {
	frozen := param32("frozen", 1)
	frozen.SetRequiresGrad(false)
	for _, tc := range []struct {
		name   string
		params []*autograd.Tensor
		want   string
	}{
		{"nil", []*autograd.Tensor{nil}, "params[0] is nil"},
		{"unnamed", []*autograd.Tensor{param32("", 1)}, "no name"},
		{"duplicate", []*autograd.Tensor{param32("w", 1), param32("w", 2)}, `"w" appears twice`},
		{"frozen", []*autograd.Tensor{frozen}, `"frozen" does not require grad`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAdamW(tc.params, DefaultAdamWConfig())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaultNoDecay(t *testing.T) {
	for name, want := range map[string]bool{
		"model.layers.0.input_layernorm.weight":               true,
		"model.norm.weight":                                   true,
		"lm_head.bias":                                        true,
		"model.embed_tokens.weight":                           true,
		"Embedding.Table":                                     true,
		"model.layers.0.self_attn.q_proj.weight":              false,
		"model.layers.0.block_sparse_moe.gate.weight":         false,
		"model.layers.0.block_sparse_moe.experts.0.w1.weight": false,
		"lm_head.weight":                                      false,
	} {
		if got := DefaultNoDecay(name); got != want {
			t.Errorf("DefaultNoDecay(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSetLRPanicsOnNegative(t *testing.T) {
	o := mustAdamW(t, []*autograd.Tensor{param32("w", 1)}, DefaultAdamWConfig())
	o.SetLR(0.5)
	if o.LR() != 0.5 {
		t.Errorf("LR() = %v after SetLR(0.5)", o.LR())
	}
	defer func() {
		if recover() == nil {
			t.Error("SetLR(-1) did not panic")
		}
	}()
	o.SetLR(-1)
}

// TestAdamWConcurrentOptimizers steps two optimizers at once, as ranks
// running as goroutines do; they share the worker pool and must each get the
// result of running alone.
func TestAdamWConcurrentOptimizers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	run := func(seed uint64) []float32 {
		rng := rand.New(rand.NewPCG(seed, 1))
		p := randParam32(rng, "w", 3*adamwGrain)
		o := mustAdamW(t, []*autograd.Tensor{p}, DefaultAdamWConfig())
		for range 4 {
			fillGrads32(rng, 1, p)
			ClipGradNorm([]*autograd.Tensor{p}, 10)
			o.Step()
		}
		return p.F32()
	}
	alone := [2][]float32{run(1), run(2)}
	var together [2][]float32
	done := make(chan int)
	for r := range 2 {
		go func() {
			together[r] = run(uint64(r + 1))
			done <- r
		}()
	}
	<-done
	<-done
	for r := range 2 {
		for i := range alone[r] {
			if math.Float32bits(alone[r][i]) != math.Float32bits(together[r][i]) {
				t.Fatalf("rank %d: p[%d] = %v together, %v alone", r, i, together[r][i], alone[r][i])
			}
		}
	}
}

// TestStepScaledEqualsClipThenStep: reading the gradients scaled by the clip
// factor gives, bit for bit, the update of clipping them in place and then
// stepping, over several steps, for float32 (vector kernel and tail) and
// float64, and leaves the gradients untouched.
func TestStepScaledEqualsClipThenStep(t *testing.T) {
	const maxNorm = 0.5
	type run struct {
		params []*autograd.Tensor
		opt    *AdamW
	}
	build := func() run {
		rng := rand.New(rand.NewPCG(21, 22))
		params := []*autograd.Tensor{randParam32(rng, "w", 3*adamwGrain+7), randParam32(rng, "b", 5), param64("d", 0.5, -0.25, 2)}
		return run{params, mustAdamW(t, params, DefaultAdamWConfig())}
	}
	clipped, scaled := build(), build()
	rng := rand.New(rand.NewPCG(23, 24))
	for step := range 3 {
		std := []float64{0.01, 1, 0.3}[step] // below, above, then near the limit
		seed := rng.Uint64()
		for _, r := range []run{clipped, scaled} {
			g := rand.New(rand.NewPCG(seed, 1))
			fillGrads32(g, std, r.params[:2]...)
			setGrad(r.params[2], std, -2*std, std/3)
		}
		norm := ClipGradNorm(clipped.params, maxNorm)
		clipped.opt.Step()
		before := append([]float32(nil), autograd.Grads[float32](scaled.params[0])...)
		if n := GradNorm(scaled.params); n != norm {
			t.Fatalf("step %d: GradNorm %v, ClipGradNorm %v", step, n, norm)
		}
		scaled.opt.StepScaled(ClipFactor(norm, maxNorm))
		for i, g := range autograd.Grads[float32](scaled.params[0]) {
			if g != before[i] {
				t.Fatalf("step %d: StepScaled changed gradient %d", step, i)
			}
		}
		for k := range clipped.params {
			a, b := clipped.params[k], scaled.params[k]
			for i := 0; i < a.Len(); i++ {
				if a.At(i) != b.At(i) {
					t.Fatalf("step %d, %s[%d]: clip-then-step %v, StepScaled %v", step, a.Name, i, a.At(i), b.At(i))
				}
			}
		}
	}
}

func TestClipFactor(t *testing.T) {
	for _, tc := range []struct{ norm, maxNorm, want float64 }{
		{13, 6.5, 0.5}, {13, 20, 1}, {13, 13, 1}, {13, 0, 1}, {13, -1, 1},
		{math.Inf(1), 1, 1}, {math.NaN(), 1, 1}, {0, 1, 1},
	} {
		if got := ClipFactor(tc.norm, tc.maxNorm); got != tc.want {
			t.Errorf("ClipFactor(%v, %v) = %v, want %v", tc.norm, tc.maxNorm, got, tc.want)
		}
	}
}

func TestStepScaledPanicsOnBadScale(t *testing.T) {
	for _, s := range []float64{-1, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("StepScaled(%v) did not panic", s)
				}
			}()
			o := mustAdamW(t, []*autograd.Tensor{param32("w", 1)}, DefaultAdamWConfig())
			o.StepScaled(s)
		}()
	}
}
