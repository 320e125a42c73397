package layers

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// LoRA adapters (lora*.go). Mutations tried, and the test that failed:
//   - Linear.forward dropping the adapter's term: TestLoRAGradients,
//     TestLoRAMergeEqualsAdapted.
//   - groupedLinear dropping the expert adapter's term: TestLoRAGradients,
//     TestLoRAEveryExpertAdapted.
//   - the router's adapter never set: TestLoRAGradients (the gate adapter
//     gets no gradient), TestLoRAMergeEqualsAdapted.
//   - Delta's Scale dropped: TestLoRAMergeEqualsAdapted; the experts' GroupedLoRA scale dropped:
//     TestExpertsLoRAFused.
//   - Scale ignoring RSLoRA: TestLoRAScaleAndInit.
//   - the Kaiming bound 1/In instead of 1/sqrt(In): TestLoRAScaleAndInit.
//   - gaussian std 1/sqrt(R) instead of 1/R: TestLoRAScaleAndInit.
//   - B drawn like A instead of zero: TestLoRAStepZeroIsBase,
//     TestLoRAScaleAndInit.
//   - AttachLoRA not freezing the base: TestLoRATrainsOnlyAdapters,
//     TestLoRAUnnamedStayFrozen, TestLoRAGradients.
//   - Trainable leaving the adapters out: TestLoRATrainsOnlyAdapters.
//   - dropout applied in eval too: TestLoRADropoutTrainingOnly.
//   - dropout never applied: TestLoRADropoutTrainingOnly.
//   - training/rng not passed on by Block (to attention, to the dense MLP),
//     by MoE (to the experts, to the shared experts), by Attention to o_proj
//     or by MLP to w3: TestLoRADropoutTrainingOnly.
//   - mergeLoRA indexing B as [R, Out]: TestLoRAMergeEqualsAdapted.
//   - MergeLoRA not removing the adapters: TestLoRAMergeEqualsAdapted.
//   - MergeLoRA not restoring trainability: TestLoRAMergeEqualsAdapted.
//   - the unmatched-target check removed: TestLoRATargetMatchingNothing.
//   - the second-attach check removed: TestLoRAAttachTwiceRefused.
//   - shared experts skipped by loraSites: TestLoRAParamCount,
//     TestLoRAGradients.
//   - SetAdapters not checking shapes, letting unknown names through,
//     copying before checking or copying the wrong element: TestSetAdapters.
//   - MergeLoRA making every parameter trainable: TestMergeKeepsFrozenBase.
//   - each Validate check removed in turn: TestLoRAConfigValidate.
//   - the report counting one per expert stack: TestLoRAEveryExpertAdapted.

// allTargets adapts every kind of weight.
func allTargets() LoRAConfig {
	return LoRAConfig{Rank: 2, Alpha: 4, Targets: LoRATargets()}
}

// attached returns tinyConfig's model (a dense layer and an MoE layer with
// shared experts) with cfg's adapters; with randomB, B is drawn too, so the
// adapters change the output.
func attached(t *testing.T, dt autograd.DType, cfg LoRAConfig, randomB bool) *Model {
	t.Helper()
	m, err := New(tinyConfig(), dt, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AttachLoRA(cfg, 5); err != nil {
		t.Fatal(err)
	}
	if randomB {
		fillB(m, 0.3)
	}
	return m
}

// fillB draws every adapter's B from N(0, std²).
func fillB(m *Model, std float64) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, a := range m.Adapters() {
		if strings.HasSuffix(a.Name, ".lora_B") {
			for i := range a.Len() {
				a.Set(i, rng.NormFloat64()*std)
			}
		}
	}
}

// batch returns a fixed batch of b sequences of tl tokens and targets.
func batch(vocab, b, tl int) ([]int32, []int32) {
	rng := rand.New(rand.NewPCG(3, 4))
	tokens, targets := make([]int32, b*tl), make([]int32, b*tl)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(vocab)), int32(rng.IntN(vocab))
	}
	return tokens, targets
}

// logits returns the eval logits of m on the fixed batch.
func logits(m *Model, opt ForwardOptions) []float64 {
	tokens, _ := batch(m.Cfg.Vocab, 2, 5)
	lg := m.Forward(autograd.NewNoGradTape(), tokens, 2, 5, opt).Logits
	out := make([]float64, lg.Len())
	for i := range out {
		out[i] = lg.At(i)
	}
	return out
}

// TestLoRAGradients checks the adapters' gradients of the full training
// loss against finite differences, with adapters on attention, routed
// experts, the dense MLP, the shared experts and the router, in eval and
// with adapter dropout in training; the base gets no gradient.
func TestLoRAGradients(t *testing.T) {
	for _, dropout := range []float64{0, 0.3} {
		cfg := allTargets()
		cfg.Dropout = dropout
		m := attached(t, autograd.Float64, cfg, true)
		tokens, targets := batch(m.Cfg.Vocab, 2, 5)
		f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor {
			opt := ForwardOptions{}
			if dropout > 0 {
				opt = ForwardOptions{Training: true, RNG: rand.New(rand.NewPCG(1, 2))}
			}
			out := m.Forward(tp, tokens, 2, 5, opt)
			return m.Loss(tp, out, targets, LossConfig{AuxCoeff: 0.1, ZCoeff: 0.01, IgnoreIdx: -100}).Total
		}
		rel, err := autograd.GradCheck(f, m.Adapters(), 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		if rel > 1e-6 {
			t.Errorf("dropout %v: relative gradient error %g", dropout, rel)
		}
		seen := map[string]bool{}
		for _, a := range m.Adapters() {
			nz := false
			for i := range a.Len() {
				nz = nz || a.GradAt(i) != 0
			}
			if !nz {
				t.Errorf("dropout %v: adapter %s got no gradient", dropout, a.Name)
			}
			seen[a.Name] = true
		}
		for _, want := range []string{"layers.0.self_attn.q_proj.lora_A", "layers.0.mlp.w1.lora_B", "layers.1.moe.gate.lora_A",
			"layers.1.moe.experts.w2.lora_B", "layers.1.moe.shared_experts.w3.lora_A"} {
			if !seen[want] {
				t.Errorf("no adapter %s among %d", want, len(seen))
			}
		}
		for _, p := range m.Params() {
			if p.HasGrad() {
				t.Errorf("frozen base parameter %s holds a gradient buffer", p.Name)
			}
		}
	}
}

// TestLoRAStepZeroIsBase: with B = 0 the attached model's logits are the
// base model's, bit for bit, in float32 and float64.
func TestLoRAStepZeroIsBase(t *testing.T) {
	for _, dt := range []autograd.DType{autograd.Float32, autograd.Float64} {
		base, err := New(tinyConfig(), dt, 1)
		if err != nil {
			t.Fatal(err)
		}
		m := attached(t, dt, allTargets(), false)
		want, got := logits(base, ForwardOptions{}), logits(m, ForwardOptions{})
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%v: logit %d = %v, base %v", dt, i, got[i], want[i])
			}
		}
	}
}

// hashParams hashes the values of ps, in order.
func hashParams(ps []*autograd.Tensor) [32]byte {
	h := sha256.New()
	for _, p := range ps {
		h.Write([]byte(p.Name))
		for _, v := range p.F32() {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
	}
	return [32]byte(h.Sum(nil))
}

// TestLoRATrainsOnlyAdapters: a few SGD steps over Trainable move the
// adapters, lower the loss and leave every base weight bit-identical and
// without a gradient buffer.
func TestLoRATrainsOnlyAdapters(t *testing.T) {
	cfg := allTargets()
	cfg.Dropout = 0.1
	m := attached(t, autograd.Float32, cfg, false)
	before := hashParams(m.Params())
	tr := m.Trainable()
	if !slices.Equal(tr, m.Adapters()) {
		t.Fatalf("Trainable has %d tensors, want the %d adapters and nothing else", len(tr), len(m.Adapters()))
	}
	tokens, targets := batch(m.Cfg.Vocab, 2, 5)
	rng := rand.New(rand.NewPCG(4, 4))
	var first, last float64
	for step := range 8 {
		tp := autograd.NewTape()
		out := m.Forward(tp, tokens, 2, 5, ForwardOptions{Training: true, RNG: rng})
		loss := m.Loss(tp, out, targets, LossConfig{AuxCoeff: 0.01, IgnoreIdx: -100}).Total
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss.Item()
		}
		last = loss.Item()
		for _, p := range tr {
			g := p.Grad()
			for i := range p.Len() {
				p.Set(i, p.At(i)-0.5*g.At(i))
			}
			p.ZeroGrad()
		}
		tp.Reset()
	}
	if !(last < first) {
		t.Errorf("loss %v after 8 steps, %v before: the adapters did not train", last, first)
	}
	if hashParams(m.Params()) != before {
		t.Error("base weights changed")
	}
	for _, p := range m.Params() {
		if p.HasGrad() || p.RequiresGrad() {
			t.Errorf("base parameter %s: requires grad %v, gradient buffer %v", p.Name, p.RequiresGrad(), p.HasGrad())
		}
	}
	if m.NumTrainable() != m.loraReport().AdapterParams {
		t.Errorf("NumTrainable %d, adapters hold %d", m.NumTrainable(), m.loraReport().AdapterParams)
	}
}

// moeConfig has three MoE layers of four experts, no shared experts.
func moeConfig() Config {
	cfg := tinyConfig()
	cfg.Layers, cfg.MoELayers, cfg.Experts, cfg.SharedExperts = 3, []bool{true, true, true}, []int{4, 4, 4}, 0
	return cfg
}

// TestLoRAEveryExpertAdapted: w1, w2, w3 give every expert of every MoE
// layer its own adapter (L x E x 3 of them, with their shapes), the report
// counts them per layer and per expert, and each expert's adapter trains on
// its own tokens.
func TestLoRAEveryExpertAdapted(t *testing.T) {
	cfg := moeConfig()
	m, err := New(cfg, autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	const r = 3
	rep, err := m.AttachLoRA(LoRAConfig{Rank: r, Alpha: 1, Targets: []string{TargetW1, TargetW2, TargetW3}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	d, f, e := cfg.DModel, cfg.ExpertFFN, 4
	shapes := map[string][2][]int{
		"w1": {{e, r, d}, {e, f, r}},
		"w3": {{e, r, d}, {e, f, r}},
		"w2": {{e, r, f}, {e, d, r}},
	}
	perExpert := 0
	for l := range cfg.Layers {
		for w, sh := range shapes {
			for i, suffix := range []string{".lora_A", ".lora_B"} {
				name := "layers." + string(rune('0'+l)) + ".moe.experts." + w + suffix
				a := adapterNamed(m, name)
				if a == nil {
					t.Fatalf("no adapter %s", name)
				}
				if !slices.Equal(a.Shape(), sh[i]) {
					t.Errorf("%s shape %v, want %v", name, a.Shape(), sh[i])
				}
			}
			perExpert += e
		}
	}
	if perExpert != 3*4*3 || len(m.Adapters()) != 3*3*2 {
		t.Fatalf("%d expert adapters in %d tensors, want 36 in 18", perExpert, len(m.Adapters()))
	}
	for _, tr := range rep.Targets {
		if tr.Matched != 3*4 || !slices.Equal(tr.Layers, []int{0, 1, 2}) || !slices.Equal(tr.PerLayer, []int{4, 4, 4}) {
			t.Errorf("report %s: %d matched in layers %v per layer %v, want 12 in 0,1,2 x 4", tr.Target, tr.Matched, tr.Layers, tr.PerLayer)
		}
	}
	if s := rep.String(); !strings.Contains(s, "w1: 3 layers x 4 experts = 12 adapters") {
		t.Errorf("report reads %q", s)
	}
	// Every expert that received tokens gets a gradient in its own B.
	tp := autograd.NewTape()
	tokens, targets := batch(cfg.Vocab, 4, 8)
	out := m.Forward(tp, tokens, 4, 8, ForwardOptions{})
	if err := tp.Backward(m.Loss(tp, out, targets, LossConfig{IgnoreIdx: -100}).Total); err != nil {
		t.Fatal(err)
	}
	for li, rt := range out.Routings {
		for _, w := range []string{"w1", "w2", "w3"} {
			b := adapterNamed(m, "layers."+string(rune('0'+out.MoELayer[li]))+".moe.experts."+w+".lora_B")
			per := b.Len() / e
			for ex, n := range rt.TokensPerExpert() {
				if n == 0 {
					t.Fatalf("layer %d expert %d got no tokens: enlarge the batch", li, ex)
				}
				nz := false
				for i := ex * per; i < (ex+1)*per; i++ {
					nz = nz || b.GradAt(i) != 0
				}
				if !nz {
					t.Errorf("%s: expert %d's adapter got no gradient from its %d tokens", b.Name, ex, n)
				}
			}
		}
	}
}

// adapterNamed returns m's adapter called name, or nil.
func adapterNamed(m *Model, name string) *autograd.Tensor {
	for _, a := range m.Adapters() {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// TestLoRATargetMatchingNothing: a target the model has no weights for is
// an error naming it and what the model has, and leaves the model as it was.
func TestLoRATargetMatchingNothing(t *testing.T) {
	dense := tinyConfig()
	dense.MoELayers = nil
	noMLP := moeConfig()
	for _, tc := range []struct {
		cfg    Config
		target string
		want   string
	}{
		{dense, TargetW1, `target "w1" matches nothing: w1 adapts the routed experts of MoE layers, and this model has 2 layers: 2 dense MLP, 0 MoE`},
		{dense, TargetGate, `target "gate" matches nothing`},
		{noMLP, TargetGateProj, `target "gate_proj" matches nothing: gate_proj adapts dense MLPs and shared experts, and this model has 3 layers: 0 dense MLP, 3 MoE (0 with shared experts)`},
	} {
		m, err := New(tc.cfg, autograd.Float64, 1)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.AttachLoRA(LoRAConfig{Rank: 2, Alpha: 2, Targets: []string{TargetQ, tc.target}}, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.target, err, tc.want)
		}
		if m.Adapters() != nil || len(m.Trainable()) != len(m.Params()) || m.Blocks[0].Attn.Q.LoRA != nil {
			t.Errorf("%s: the failed attach changed the model", tc.target)
		}
	}
}

// TestLoRAAttachTwiceRefused: a second AttachLoRA is an error.
func TestLoRAAttachTwiceRefused(t *testing.T) {
	m := attached(t, autograd.Float64, allTargets(), false)
	n := len(m.Adapters())
	if _, err := m.AttachLoRA(allTargets(), 1); err == nil || !strings.Contains(err.Error(), "already has LoRA adapters") {
		t.Fatalf("second attach: %v", err)
	}
	if len(m.Adapters()) != n {
		t.Fatalf("second attach changed the adapters: %d, want %d", len(m.Adapters()), n)
	}
}

// TestLoRAParamCount: the adapters hold sum over adapted weights [Out, In]
// of R·(In+Out) elements (times E for experts), counted here from the
// configuration alone.
func TestLoRAParamCount(t *testing.T) {
	c := tinyConfig()
	const r = 2
	m := attached(t, autograd.Float64, allTargets(), false)
	rep := m.loraReport()
	d, kv := c.DModel, c.KVHeads*(c.DModel/c.Heads)
	attn := r*(d+d) + 2*r*(d+kv) + r*(d+d) // q, k, v, o
	mlp := func(f int) int { return 3 * r * (d + f) }
	e := c.Experts[1]
	want := c.Layers*attn + mlp(c.FFNHidden) + // dense layer 0
		r*(d+e) + // router of layer 1
		e*3*r*(d+c.ExpertFFN) + // routed experts of layer 1
		mlp(c.SharedExperts*c.ExpertFFN) // shared experts of layer 1
	got := 0
	for _, a := range m.Adapters() {
		got += a.Len()
	}
	if got != want || rep.AdapterParams != want || rep.TrainableParams != want {
		t.Errorf("adapters hold %d elements, report %d (trainable %d), want %d", got, rep.AdapterParams, rep.TrainableParams, want)
	}
	if rep.TotalParams != m.NumParams()+want {
		t.Errorf("total %d, want base %d + adapters %d", rep.TotalParams, m.NumParams(), want)
	}
	sum := 0
	for _, tr := range rep.Targets {
		sum += tr.Params
	}
	if sum != want {
		t.Errorf("per-target parameters add to %d, want %d", sum, want)
	}
}

// TestLoRAScaleAndInit: s = alpha/r (alpha/sqrt(r) with RSLoRA); Kaiming A
// lies within ±1/sqrt(In) and reaches near it; gaussian A has std 1/r; B is
// zero.
func TestLoRAScaleAndInit(t *testing.T) {
	cfg := LoRAConfig{Rank: 4, Alpha: 8, Targets: []string{TargetW1}}
	if s := cfg.Scale(); s != 2 {
		t.Errorf("scale %v, want 2", s)
	}
	cfg.RSLoRA = true
	if s := cfg.Scale(); s != 4 {
		t.Errorf("rslora scale %v, want 4", s)
	}
	for _, init := range []string{"", LoRAInitGaussian} {
		m, err := New(moeConfig(), autograd.Float64, 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Init = init
		if _, err := m.AttachLoRA(cfg, 3); err != nil {
			t.Fatal(err)
		}
		if got := m.Blocks[0].MoE.Experts.LoRA1.Scale; got != 4 {
			t.Errorf("attached rslora scale %v, want 4", got)
		}
		var sum2, maxAbs float64
		n := 0
		for _, a := range m.Adapters() {
			if strings.HasSuffix(a.Name, ".lora_B") {
				for i := range a.Len() {
					if a.At(i) != 0 {
						t.Fatalf("%s is not zero", a.Name)
					}
				}
				continue
			}
			for i := range a.Len() {
				sum2 += a.At(i) * a.At(i)
				maxAbs = max(maxAbs, math.Abs(a.At(i)))
				n++
			}
		}
		std := math.Sqrt(sum2 / float64(n))
		if init == "" {
			bound := 1 / math.Sqrt(float64(m.Cfg.DModel))
			if maxAbs > bound || maxAbs < 0.9*bound || math.Abs(std-bound/math.Sqrt(3)) > 0.1*bound {
				t.Errorf("kaiming: max |A| %v, std %v over %d, want within %v, std %v", maxAbs, std, n, bound, bound/math.Sqrt(3))
			}
		} else if want := 1.0 / 4; math.Abs(std-want) > 0.1*want {
			t.Errorf("gaussian: std %v over %d, want %v", std, n, want)
		}
	}
}

// TestLoRAConfigValidate: each bad field is named with its value.
func TestLoRAConfigValidate(t *testing.T) {
	good := LoRAConfig{Rank: 8, Alpha: 16, Dropout: 0.05, Targets: []string{TargetQ, TargetW1}, Init: LoRAInitGaussian}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		edit func(*LoRAConfig)
		want string
	}{
		{func(c *LoRAConfig) { c.Rank = 0 }, "LoRA Rank 0: must be at least 1"},
		{func(c *LoRAConfig) { c.Alpha = 0 }, "LoRA Alpha 0: must be a finite number > 0"},
		{func(c *LoRAConfig) { c.Alpha = math.Inf(1) }, "LoRA Alpha +Inf"},
		{func(c *LoRAConfig) { c.Alpha = math.NaN() }, "LoRA Alpha NaN"},
		{func(c *LoRAConfig) { c.Dropout = 1 }, "LoRA Dropout 1: must be in [0, 1)"},
		{func(c *LoRAConfig) { c.Dropout = -0.1 }, "LoRA Dropout -0.1"},
		{func(c *LoRAConfig) { c.Init = "xavier" }, `LoRA Init "xavier": must be "kaiming" or "gaussian"`},
		{func(c *LoRAConfig) { c.Targets = nil }, "LoRA Targets is empty: name at least one of q_proj"},
		{func(c *LoRAConfig) { c.Targets = []string{"q_proj", "experts"} }, `unknown target "experts": known targets are q_proj, k_proj`},
		{func(c *LoRAConfig) { c.Targets = []string{"q_proj", "q_proj"} }, `"q_proj" is named twice`},
	} {
		c := good
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
	}
	m, err := New(tinyConfig(), autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AttachLoRA(LoRAConfig{Rank: 0, Alpha: 1, Targets: []string{TargetQ}}, 1); err == nil ||
		!strings.HasPrefix(err.Error(), "layers.AttachLoRA: LoRA Rank 0") {
		t.Errorf("AttachLoRA with rank 0: %v", err)
	}
}

// TestLoRADropoutTrainingOnly: adapter dropout changes the training forward
// and leaves evaluation alone, even when a generator is given.
func TestLoRADropoutTrainingOnly(t *testing.T) {
	cfg := allTargets()
	cfg.Dropout = 0.5
	m := attached(t, autograd.Float64, cfg, true)
	noDrop := attached(t, autograd.Float64, allTargets(), true)
	eval := logits(m, ForwardOptions{})
	evalRNG := logits(m, ForwardOptions{RNG: rand.New(rand.NewPCG(1, 1))})
	if !slices.Equal(eval, evalRNG) || !slices.Equal(eval, logits(noDrop, ForwardOptions{})) {
		t.Fatal("adapter dropout changed the eval forward")
	}
	// Without adapter dropout (and with no residual dropout) training
	// computes what eval does, so a difference is the adapters' dropout.
	if !slices.Equal(eval, logits(noDrop, ForwardOptions{Training: true, RNG: rand.New(rand.NewPCG(1, 1))})) {
		t.Fatal("training without dropout differs from eval")
	}
	// Each target's own dropout reaches its adapter in training, the MLP
	// targets' both in dense MLPs and in shared experts.
	dense := tinyConfig()
	dense.MoELayers = nil
	shared := moeConfig()
	shared.SharedExperts = 1
	for ci, c := range []Config{dense, shared} {
		tried := 0
		for _, target := range LoRATargets() {
			mc, err := New(c, autograd.Float64, 1)
			if err != nil {
				t.Fatal(err)
			}
			one := cfg
			one.Targets = []string{target}
			if _, err := mc.AttachLoRA(one, 1); err != nil {
				continue // a target this model lacks
			}
			tried++
			fillB(mc, 0.3)
			if slices.Equal(logits(mc, ForwardOptions{}), logits(mc, ForwardOptions{Training: true, RNG: rand.New(rand.NewPCG(1, 1))})) {
				t.Errorf("%s (MoE layers %v): adapter dropout did not change the training forward", target, c.MoELayers)
			}
		}
		if want := []int{7, 11}[ci]; tried != want {
			t.Errorf("MoE layers %v: %d targets attached, want %d", c.MoELayers, tried, want)
		}
	}
}

// TestLoRAUnnamedStayFrozen: with only w1 named, the router, attention,
// MLPs, norms, embeddings and head get no adapter and stay frozen.
func TestLoRAUnnamedStayFrozen(t *testing.T) {
	m, err := New(tinyConfig(), autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AttachLoRA(LoRAConfig{Rank: 1, Alpha: 1, Targets: []string{TargetW1}}, 1); err != nil {
		t.Fatal(err)
	}
	if m.Blocks[1].MoE.Router.GateAdapter() != nil || m.Blocks[0].Attn.Q.LoRA != nil || m.Blocks[0].MLP.W1.LoRA != nil ||
		m.Blocks[1].MoE.Shared.W1.LoRA != nil || m.Blocks[1].MoE.Experts.LoRA2 != nil {
		t.Fatal("a module that was not named got an adapter")
	}
	for _, p := range m.Params() {
		if p.RequiresGrad() {
			t.Errorf("%s is trainable", p.Name)
		}
	}
	if names := tensorNames(m.Adapters()); !slices.Equal(names, []string{"layers.1.moe.experts.w1.lora_A", "layers.1.moe.experts.w1.lora_B"}) {
		t.Errorf("adapters %v", names)
	}
}

func tensorNames(ts []*autograd.Tensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
