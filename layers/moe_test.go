package layers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// referenceMoE is the slow, obviously correct MoE: for every token and each
// of its kept slots, run that expert's MLP on the token alone and add the
// weighted result. It shares nothing with the grouped path but the routing.
func referenceMoE(tp *autograd.Tape, m *MoE, x *autograd.Tensor, rt *router.Routing) *autograd.Tensor {
	n := x.Dim(0)
	k := len(rt.Experts) / n
	kept := make(map[int32]bool, len(rt.Order))
	for _, s := range rt.Order {
		kept[s] = true
	}
	rows := make([]*autograd.Tensor, n)
	for tok := 0; tok < n; tok++ {
		xt := tp.GatherRows(x, []int32{int32(tok)}) // [1, D]
		var y *autograd.Tensor
		for j := 0; j < k; j++ {
			slot := int32(tok*k + j)
			if !kept[slot] {
				continue
			}
			e := int(rt.Experts[slot])
			g := tp.MatMul(xt, tp.Select(m.Experts.W1, e), false, true)
			u := tp.MatMul(xt, tp.Select(m.Experts.W3, e), false, true)
			o := tp.MatMul(tp.Mul(tp.SiLU(g), u), tp.Select(m.Experts.W2, e), false, true) // [1, D]
			w := tp.GatherRows(tp.Reshape(rt.Weights, n*k, 1), []int32{slot})              // [1, 1]
			o = tp.Mul(o, w)
			if y == nil {
				y = o
			} else {
				y = tp.Add(y, o)
			}
		}
		if y == nil {
			y = tp.Scale(xt, 0)
		}
		rows[tok] = y
	}
	out := tp.Concat(0, rows...)
	if m.Shared != nil {
		out = tp.Add(out, m.Shared.Forward(tp, x))
	}
	return out
}

func testMoE(t *testing.T, dt autograd.DType, rc router.Config, d, f, shared int, seed uint64) *MoE {
	t.Helper()
	m, err := NewMoE(dt, "moe", MoEConfig{Router: rc, DModel: d, ExpertFFN: f, SharedExperts: shared}, 0.5, 0.5, rand.New(rand.NewPCG(seed, 1)))
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

// TestMoEMatchesReference holds the grouped fast path equal to the per-token
// reference, forward and backward, for every router type.
func TestMoEMatchesReference(t *testing.T) {
	for name, rc := range routerConfigs(5, 2) {
		t.Run(name, func(t *testing.T) {
			m := testMoE(t, autograd.Float64, rc, 6, 7, 1, 3)
			x := autograd.RandN(rand.New(rand.NewPCG(9, 9)), 1, 11, 6)
			x.SetRequiresGrad(true)
			run := func(ref bool) ([]float64, map[string][]float64) {
				tp := autograd.NewTape()
				for _, p := range append(m.Params(), x) {
					p.ZeroGrad()
				}
				rt := m.Router.Route(tp, x, false, nil)
				var y *autograd.Tensor
				if ref {
					y = referenceMoE(tp, m, x, rt)
				} else {
					permuted, offsets := m.Dispatcher.Dispatch(tp, x, rt)
					y = m.Dispatcher.Combine(tp, m.Experts.Forward(tp, permuted, offsets), rt)
					if m.Shared != nil {
						y = tp.Add(y, m.Shared.Forward(tp, x))
					}
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
func copyDenseIntoExperts(m *MoE, mlp *MLP) {
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
			mlp := NewMLP(autograd.Float64, "mlp", 8, 10, 0.5, 0.5, rand.New(rand.NewPCG(8, 8)))
			copyDenseIntoExperts(m, mlp)
			x := autograd.RandN(rand.New(rand.NewPCG(1, 7)), 1, 13, 8)
			tp := autograd.NewNoGradTape()
			y, _ := m.Forward(tp, x, false, nil)
			want := mlp.Forward(tp, x)
			for i := 0; i < y.Len(); i++ {
				if d := math.Abs(y.At(i) - want.At(i)); d > 1e-12 {
					t.Fatalf("element %d: MoE %v, dense %v", i, y.At(i), want.At(i))
				}
			}
		})
	}
}
