package moetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// Case is one routing situation of the conformance suite: an MoE layer of E
// experts routing N tokens, what its routing must show for the case to
// test what it names, and whether the layer is applied twice on one tape.
type Case struct {
	Name   string
	Router router.Config
	N      int
	Shared int       // shared experts
	Bias   []float32 // expert bias [E] to set (Router.ExpertBias), nil for none
	Twice  bool      // y = layer(layer(x)) with one dispatcher
	// Check reports why a routing does not show the case (nil when it does).
	Check func(rt *router.Routing) error
}

// Cases returns the suite's routings: dropless top-2 with a shared expert,
// drops by capacity, experts with no tokens (the first and the last),
// E = 1, K = 1 with raw weights, sigmoid top-3, and top-2 twice on one tape.
func Cases() []Case {
	softmax := func(e, k int) router.Config { return router.DefaultConfig(e, k) }
	capped := softmax(4, 2)
	capped.CapacityFactor = 0.5
	idle := softmax(6, 2)
	idle.ExpertBias = true
	raw := softmax(4, 1)
	raw.Normalize = false
	return []Case{
		{Name: "top2_shared", Router: softmax(4, 2), N: 9, Shared: 1},
		{Name: "capacity_drops", Router: capped, N: 10, Check: func(rt *router.Routing) error {
			if rt.Dropped == 0 {
				return fmt.Errorf("capacity %d dropped nothing", rt.Capacity)
			}
			return nil
		}},
		{Name: "idle_experts", Router: idle, N: 7, Bias: []float32{-100, 0, 0, 0, 0, -100}, Check: func(rt *router.Routing) error {
			if load := rt.TokensPerExpert(); load[0] != 0 || load[5] != 0 {
				return fmt.Errorf("experts 0 and 5 got %d and %d slots, want none", load[0], load[5])
			}
			return nil
		}},
		{Name: "E1", Router: softmax(1, 1), N: 5},
		{Name: "K1_raw", Router: raw, N: 8},
		{Name: "sigmoid_K3", Router: router.Config{NumExperts: 5, TopK: 3, Type: router.Sigmoid}, N: 6},
		{Name: "twice_on_one_tape", Router: softmax(4, 2), N: 6, Shared: 1, Twice: true},
	}
}

// TestDispatcher runs every case of Cases with a dispatcher from
// newDispatcher (one per case, shared by both applications of a Twice case)
// in an float64 MoE layer: the layer's output and the gradients of its input
// and parameters must match Reference to 1e-11, and finite differences to a
// relative 1e-6.
func TestDispatcher(t *testing.T, newDispatcher func() layers.Dispatcher) {
	t.Helper()
	for i, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { testCase(t, c, uint64(i), newDispatcher()) })
	}
}

func testCase(t *testing.T, c Case, seed uint64, d layers.Dispatcher) {
	const dModel, ffn = 5, 6
	m, err := layers.NewMoE(autograd.Float64, "moe", layers.MoEConfig{Router: c.Router, DModel: dModel, ExpertFFN: ffn, SharedExperts: c.Shared},
		0.5, 0.5, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m.Dispatcher = d
	if c.Bias != nil {
		if err := m.Router.SetBias(c.Bias); err != nil {
			t.Fatal(err)
		}
	}
	x := autograd.RandN(rand.New(rand.NewPCG(seed, 2)), 1, c.N, dModel) // [N, D]
	x.Name = "x"
	x.SetRequiresGrad(true)
	if c.Check != nil {
		if err := c.Check(m.Router.Route(autograd.NewNoGradTape(), x, false, nil)); err != nil {
			t.Fatalf("the case does not hold: %v", err)
		}
	}
	inputs := append([]*autograd.Tensor{x}, m.Params()...)
	layer := func(tp *autograd.Tape, ref bool) *autograd.Tensor {
		apply := func(h *autograd.Tensor) *autograd.Tensor {
			if ref {
				return Reference(tp, m, h, m.Router.Route(tp, h, false, nil))
			}
			y, _ := m.Forward(tp, h, false, nil)
			return y
		}
		y := apply(x)
		if c.Twice {
			y = apply(y)
		}
		return y
	}
	got, gotGrads := valuesAndGrads(t, inputs, func(tp *autograd.Tape) *autograd.Tensor { return layer(tp, false) })
	want, wantGrads := valuesAndGrads(t, inputs, func(tp *autograd.Tape) *autograd.Tensor { return layer(tp, true) })
	if e := maxAbsDiff(got, want); e > 1e-11 {
		t.Errorf("output differs from the reference by %g", e)
	}
	for i, in := range inputs {
		if e := maxAbsDiff(gotGrads[i], wantGrads[i]); e > 1e-11 {
			t.Errorf("gradient of %q differs from the reference by %g", in.Name, e)
		}
	}
	rel, err := autograd.GradCheck(func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor { return layer(tp, false) }, inputs, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if rel > 1e-6 {
		t.Errorf("gradient differs from finite differences by a relative %g", rel)
	}
}

// valuesAndGrads runs f on a fresh tape and returns its output values and
// the gradients of inputs under a fixed random projection of the output.
func valuesAndGrads(t *testing.T, inputs []*autograd.Tensor, f func(tp *autograd.Tape) *autograd.Tensor) ([]float64, [][]float64) {
	t.Helper()
	for _, in := range inputs {
		in.ZeroGrad()
	}
	tp := autograd.NewTape()
	y := f(tp)
	vals := make([]float64, y.Len())
	for i := range vals {
		vals[i] = y.At(i)
	}
	proj := autograd.RandN(rand.New(rand.NewPCG(4, 4)), 1, y.Shape()...)
	if err := tp.Backward(tp.Sum(tp.Mul(y, proj))); err != nil {
		t.Fatal(err)
	}
	grads := make([][]float64, len(inputs))
	for i, in := range inputs {
		grads[i] = make([]float64, in.Len())
		for j := range grads[i] {
			grads[i][j] = in.GradAt(j)
		}
	}
	return vals, grads
}

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
