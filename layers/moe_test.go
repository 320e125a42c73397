package layers_test

// What these tests catch (each mutation was made once and failed the test
// named):
//   - MoE.Forward dropping the shared-expert output: TestMoEMatchesReference
//     (the real Forward against moetest.Reference with shared experts) and
//     TestModelEveryParamGetsGradient.
//   - a parameter that is never used (shared experts, the noisy_topk noise
//     weight, an expert, a dense layer): TestModelEveryParamGetsGradient.
//   - layers.New ignoring Config.NewDispatcher, or calling it with the wrong
//     layer: TestNewDispatcherFactory; accepting a nil dispatcher from it:
//     TestNewDispatcherNil.
//   - a dispatcher keeping per-call state, or the combine losing a weight:
//     TestLocalDispatcher (moetest.TestDispatcher, twice_on_one_tape).

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/layers/moetest"
	"github.com/moetrain/moetrain/router"
)

func testMoE(t *testing.T, dt autograd.DType, rc router.Config, d, f, shared int, seed uint64) *layers.MoE {
	t.Helper()
	m, err := layers.NewMoE(dt, "moe", layers.MoEConfig{Router: rc, DModel: d, ExpertFFN: f, SharedExperts: shared}, 0.5, 0.5, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func routerConfigs(e, k int) map[string]router.Config {
	return map[string]router.Config{
		"topk_softmax":     {NumExperts: e, TopK: k, Type: "topk_softmax", Normalize: true},
		"topk_pre_softmax": {NumExperts: e, TopK: k, Type: "topk_softmax", PreSoftmax: true},
		"topk_unnormed":    {NumExperts: e, TopK: k, Type: "topk_softmax"},
		"sigmoid":          {NumExperts: e, TopK: k, Type: "sigmoid", Normalize: true},
		"noisy_topk":       {NumExperts: e, TopK: k, Type: "noisy_topk", NoiseStd: 1, Normalize: true},
		"capacity":         {NumExperts: e, TopK: k, Type: "topk_softmax", Normalize: true, CapacityFactor: 0.6},
	}
}

// TestMoEMatchesReference holds the real MoE.Forward (grouped experts,
// local dispatcher, shared experts) equal to the per-token reference,
// forward and backward, for every router type.
func TestMoEMatchesReference(t *testing.T) {
	for name, rc := range routerConfigs(5, 2) {
		t.Run(name, func(t *testing.T) {
			m := testMoE(t, autograd.Float64, rc, 6, 7, 2, 3)
			x := autograd.RandN(rand.New(rand.NewPCG(9, 9)), 1, 11, 6)
			x.SetRequiresGrad(true)
			if rt := m.Router.Route(autograd.NewNoGradTape(), x, false, nil); rc.CapacityFactor > 0 && rt.Dropped == 0 {
				t.Fatal("the capacity case dropped nothing")
			}
			run := func(ref bool) ([]float64, map[string][]float64) {
				tp := autograd.NewTape()
				for _, p := range append(m.Params(), x) {
					p.ZeroGrad()
				}
				var y *autograd.Tensor
				if ref {
					y = moetest.Reference(tp, m, x, m.Router.Route(tp, x, false, nil))
				} else {
					y, _ = m.Forward(tp, x, false, nil)
				}
				vals := make([]float64, y.Len())
				for i := range vals {
					vals[i] = y.At(i)
				}
				w := autograd.RandN(rand.New(rand.NewPCG(4, 4)), 1, y.Shape()...)
				if err := tp.Backward(tp.Sum(tp.Mul(y, w))); err != nil {
					t.Fatal(err)
				}
				grads := map[string][]float64{}
				for _, p := range append(m.Params(), x) {
					g := make([]float64, p.Len())
					for i := range g {
						g[i] = p.GradAt(i)
					}
					grads[p.Name] = g
				}
				return vals, grads
			}
			fast, gf := run(false)
			ref, gr := run(true)
			if e := maxAbsDiff(fast, ref); e > 1e-12 {
				t.Errorf("forward differs from reference by %g", e)
			}
			for name, g := range gr {
				if e := maxAbsDiff(gf[name], g); e > 1e-12 {
					t.Errorf("gradient of %q differs from reference by %g", name, e)
				}
			}
		})
	}
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// TestMoEGradients checks the MoE layer's gradients (input, router, experts)
// against finite differences for every router type.
func TestMoEGradients(t *testing.T) {
	for name, rc := range routerConfigs(4, 2) {
		if name == "noisy_topk" {
			continue // noise only in training; covered by the router's own tests
		}
		t.Run(name, func(t *testing.T) {
			m := testMoE(t, autograd.Float64, rc, 5, 6, 0, 5)
			x := autograd.RandN(rand.New(rand.NewPCG(2, 3)), 1, 7, 5)
			x.SetRequiresGrad(true)
			inputs := append([]*autograd.Tensor{x}, m.Params()...)
			f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor {
				y, _ := m.Forward(tp, x, false, nil)
				return y
			}
			rel, err := autograd.GradCheck(f, inputs, 1e-6)
			if err != nil {
				t.Fatal(err)
			}
			if rel > 1e-6 {
				t.Errorf("relative gradient error %g", rel)
			}
		})
	}
}

// copyDenseIntoExperts makes every expert of m an exact copy of mlp.
func copyDenseIntoExperts(m *layers.MoE, mlp *layers.MLP) {
	e := m.Experts.Count()
	for _, pair := range [][2]*autograd.Tensor{{m.Experts.W1, mlp.W1.W}, {m.Experts.W3, mlp.W3.W}, {m.Experts.W2, mlp.W2.W}} {
		n := pair[1].Len()
		for i := 0; i < e; i++ {
			for j := 0; j < n; j++ {
				pair[0].Set(i*n+j, pair[1].At(j))
			}
		}
	}
}

// TestMoEIdentities: E=1,K=1 equals the dense MLP; E identical experts equal
// the MLP for any router with renormalised weights (function-preserving upcycling).
func TestMoEIdentities(t *testing.T) {
	cases := map[string]router.Config{"E1K1": {NumExperts: 1, TopK: 1, Type: "topk_softmax", Normalize: true}}
	for name, rc := range routerConfigs(6, 2) {
		if rc.Normalize && rc.CapacityFactor == 0 {
			cases["copies_"+name] = rc
		}
	}
	cases["copies_pre_softmax"] = routerConfigs(6, 3)["topk_pre_softmax"]
	for name, rc := range cases {
		t.Run(name, func(t *testing.T) {
			m := testMoE(t, autograd.Float64, rc, 8, 10, 0, 6)
			mlp := layers.NewMLP(autograd.Float64, "mlp", 8, 10, 0.5, 0.5, rand.New(rand.NewPCG(8, 8)))
			copyDenseIntoExperts(m, mlp)
			x := autograd.RandN(rand.New(rand.NewPCG(1, 7)), 1, 13, 8)
			tp := autograd.NewNoGradTape()
			y, _ := m.Forward(tp, x, false, nil)
			want := mlp.Forward(tp, x, false, nil)
			for i := 0; i < y.Len(); i++ {
				if d := math.Abs(y.At(i) - want.At(i)); d > 1e-12 {
					t.Fatalf("element %d: MoE %v, dense %v", i, y.At(i), want.At(i))
				}
			}
		})
	}
}

// TestModelEveryParamGetsGradient: one training forward/backward of a small
// model (dense and MoE layers, shared experts, noisy_topk with jitter, both
// auxiliary losses) leaves a non-zero gradient on every parameter. A
// gradient check cannot see a parameter that is never used; this test can.
func TestModelEveryParamGetsGradient(t *testing.T) {
	cfg := layers.Config{
		Vocab: 13, DModel: 8, Layers: 3, Heads: 2, KVHeads: 1, FFNHidden: 12, MaxSeqLen: 8,
		RopeTheta: 10000, NormEps: 1e-5, MoELayers: []bool{false, true, true}, Experts: []int{0, 4, 3},
		ExpertFFN: 6, SharedExperts: 1,
		Router: router.Config{TopK: 2, Type: router.NoisyTopK, NoiseStd: 1, JitterEps: 0.01, Normalize: true},
	}
	m, err := layers.New(cfg, autograd.Float64, 5)
	if err != nil {
		t.Fatal(err)
	}
	const b, tl = 2, 8
	rng := rand.New(rand.NewPCG(6, 7))
	tokens, targets := make([]int32, b*tl), make([]int32, b*tl)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(cfg.Vocab)), int32(rng.IntN(cfg.Vocab))
	}
	tp := autograd.NewTape()
	out := m.Forward(tp, tokens, b, tl, layers.ForwardOptions{Training: true, RNG: rng})
	for i, rt := range out.Routings {
		for e, n := range rt.TokensPerExpert() {
			if n == 0 {
				t.Fatalf("MoE layer %d: expert %d got no tokens; pick another seed", out.MoELayer[i], e)
			}
		}
	}
	loss := m.Loss(tp, out, targets, layers.LossConfig{AuxCoeff: 0.01, ZCoeff: 1e-3, IgnoreIdx: -100})
	if err := tp.Backward(loss.Total); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range m.Params() {
		names[p.Name] = true
		norm := 0.0
		for i := range p.Len() {
			norm += p.GradAt(i) * p.GradAt(i)
		}
		if !(norm > 0) {
			t.Errorf("%s got no gradient", p.Name)
		}
	}
	for _, want := range []string{"layers.1.moe.noise.weight", "layers.2.moe.shared_experts.w1.weight", "layers.0.mlp.w1.weight"} {
		if !names[want] {
			t.Errorf("model has no parameter %q", want)
		}
	}
}

// recordingDispatcher is a LocalDispatcher that counts its Dispatch calls.
type recordingDispatcher struct {
	layers.LocalDispatcher
	calls *int
}

func (d recordingDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, layers.Plan) {
	*d.calls++
	return d.LocalDispatcher.Dispatch(tp, x, rt)
}

func factoryConfig() layers.Config {
	return layers.Config{
		Vocab: 7, DModel: 4, Layers: 3, Heads: 1, KVHeads: 1, FFNHidden: 6, MaxSeqLen: 4, RopeTheta: 10000,
		NormEps: 1e-5, MoELayers: []bool{true, false, true}, Experts: []int{2, 0, 3}, ExpertFFN: 4,
		Router: router.DefaultConfig(0, 1),
	}
}

// TestNewDispatcherFactory: New asks Config.NewDispatcher for each MoE
// layer's dispatcher, by layer index, and Forward dispatches through it.
func TestNewDispatcherFactory(t *testing.T) {
	cfg := factoryConfig()
	calls := map[int]*int{}
	cfg.NewDispatcher = func(layer int) layers.Dispatcher {
		calls[layer] = new(int)
		return recordingDispatcher{calls: calls[layer]}
	}
	m, err := layers.New(cfg, autograd.Float32, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] == nil || calls[2] == nil {
		t.Fatalf("NewDispatcher called for layers %v, want 0 and 2", calls)
	}
	m.Forward(autograd.NewNoGradTape(), []int32{1, 2, 3, 4}, 1, 4, layers.ForwardOptions{})
	for _, layer := range []int{0, 2} {
		if *calls[layer] != 1 {
			t.Errorf("layer %d's dispatcher ran %d times in one forward, want 1", layer, *calls[layer])
		}
	}
	// Without a factory every MoE layer gets a LocalDispatcher.
	cfg.NewDispatcher = nil
	if m, err = layers.New(cfg, autograd.Float32, 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Blocks[2].MoE.Dispatcher.(layers.LocalDispatcher); !ok {
		t.Errorf("default dispatcher %T, want LocalDispatcher", m.Blocks[2].MoE.Dispatcher)
	}
}

func TestNewDispatcherNil(t *testing.T) {
	cfg := factoryConfig()
	cfg.NewDispatcher = func(int) layers.Dispatcher { return nil }
	_, err := layers.New(cfg, autograd.Float32, 1)
	if err == nil || !strings.Contains(err.Error(), "NewDispatcher") || !strings.Contains(err.Error(), "layer 0") {
		t.Fatalf("layers.New = %v, want an error naming NewDispatcher and layer 0", err)
	}
}
