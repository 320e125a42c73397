package parallel_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/layers/moetest"
	"github.com/moetrain/moetrain/parallel"
	"github.com/moetrain/moetrain/router"
)

// The expert-parallel dispatcher against the local one on the whole layer:
// every rank's output and input gradient, the replicated parameters'
// gradients per rank, and each expert shard's gradient summed over the
// ranks' tokens (float64, to 1e-11). The local dispatcher itself is held to
// the per-token reference and to finite differences by layers/moetest, so
// agreeing with it to rounding is agreeing with both.
//
// Mutations caught: regrouping by source rank instead of by local expert
// (TestExpertParallelDispatcher, every case with more than one rank); the
// dispatch backward not sending the gradients back (input gradients zero); Combine's backward using the dispatch
// direction (counts mismatch on uneven loads); Combine's backward adding
// float32 rows of half their width (TestExpertParallelFloat32).

// epLayer is one rank's copy of a case's layer: the same router and shared
// expert as the whole one, its shard of the experts, the EP dispatcher.
func epLayer(t *testing.T, c moetest.Case, seed uint64, comm parallel.Comm) *layers.MoE {
	t.Helper()
	m := newLayer(t, c, seed)
	e := c.Router.NumExperts
	w, r := comm.Size(), comm.Rank()
	shard, err := m.Experts.Shard(r*e/w, (r+1)*e/w)
	if err != nil {
		t.Error(err)
		return nil
	}
	m.Experts = shard
	d, err := parallel.NewExpertParallelDispatcher(comm, e)
	if err != nil {
		t.Error(err)
		return nil
	}
	m.Dispatcher = d
	return m
}

const epDModel, epFFN = 5, 6

func newLayer(t *testing.T, c moetest.Case, seed uint64) *layers.MoE {
	t.Helper()
	m, err := layers.NewMoE(autograd.Float64, "moe", layers.MoEConfig{Router: c.Router, DModel: epDModel, ExpertFFN: epFFN, SharedExperts: c.Shared},
		0.5, 0.5, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bias != nil {
		if err := m.Router.SetBias(c.Bias); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// pass is one rank's forward and backward: output, input gradient and the
// parameters' gradients, by name.
type pass struct {
	y, dx []float64
	grads map[string][]float64
}

func runLayer(m *layers.MoE, c moetest.Case, x *autograd.Tensor, rank int) pass {
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	x.ZeroGrad()
	tp := autograd.NewTape()
	y, _ := m.Forward(tp, x, false, nil)
	if c.Twice {
		y, _ = m.Forward(tp, y, false, nil)
	}
	proj := autograd.RandN(rand.New(rand.NewPCG(uint64(rank), 9)), 1, y.Shape()...)
	if err := tp.Backward(tp.Sum(tp.Mul(y, proj))); err != nil {
		panic(err)
	}
	out := pass{y: values(y), dx: grads(x), grads: map[string][]float64{}}
	for _, p := range m.Params() {
		out.grads[p.Name] = grads(p)
	}
	return out
}

func values(t *autograd.Tensor) []float64 {
	v := make([]float64, t.Len())
	for i := range v {
		v[i] = t.At(i)
	}
	return v
}

func grads(t *autograd.Tensor) []float64 {
	v := make([]float64, t.Len())
	for i := range v {
		v[i] = t.GradAt(i)
	}
	return v
}

func input(seed uint64, rank, n int) *autograd.Tensor {
	x := autograd.RandN(rand.New(rand.NewPCG(seed, 100+uint64(rank))), 1, n, epDModel) // [N, D]
	x.Name = "x"
	x.SetRequiresGrad(true)
	return x
}

func maxDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

func TestExpertParallelDispatcher(t *testing.T) {
	idleRank := router.DefaultConfig(4, 2)
	idleRank.ExpertBias = true
	cases := append(moetest.Cases(), moetest.Case{Name: "idle_rank", Router: idleRank, N: 7, Bias: []float32{0, 0, -100, -100},
		Check: func(rt *router.Routing) error {
			if load := rt.TokensPerExpert(); load[2]+load[3] != 0 {
				return fmt.Errorf("experts 2 and 3 got %d and %d slots, want none", load[2], load[3])
			}
			return nil
		}})
	for _, w := range []int{1, 2, 4} {
		for i, c := range cases {
			if c.Router.NumExperts%w != 0 {
				t.Logf("skipping %s at %d ranks: %d experts do not split over them", c.Name, w, c.Router.NumExperts)
				continue
			}
			t.Run(fmt.Sprintf("%s/W%d", c.Name, w), func(t *testing.T) { checkCase(t, c, uint64(i), w) })
		}
	}
}

func checkCase(t *testing.T, c moetest.Case, seed uint64, w int) {
	whole := newLayer(t, c, seed)
	if c.Check != nil {
		for r := range w {
			if err := c.Check(whole.Router.Route(autograd.NewNoGradTape(), input(seed, r, c.N), false, nil)); err != nil {
				t.Fatalf("rank %d: the case does not hold: %v", r, err)
			}
		}
	}
	want := make([]pass, w)
	for r := range w {
		want[r] = runLayer(whole, c, input(seed, r, c.N), r)
	}
	comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]pass, w)
	errs := parallel.Run(comms, func(comm parallel.Comm) error {
		m := epLayer(t, c, seed, comm)
		if m == nil {
			return errors.New("no layer")
		}
		got[comm.Rank()] = runLayer(m, c, input(seed, comm.Rank(), c.N), comm.Rank())
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	e := c.Router.NumExperts
	for r := range w {
		if d := maxDiff(got[r].y, want[r].y); d > 1e-11 {
			t.Errorf("rank %d: output differs from the local dispatcher's by %g", r, d)
		}
		if d := maxDiff(got[r].dx, want[r].dx); d > 1e-11 {
			t.Errorf("rank %d: input gradient differs by %g", r, d)
		}
		for name, g := range got[r].grads {
			ref := want[r].grads[name]
			if len(g) != len(ref) { // an expert shard: its slice of the whole, summed over every rank's tokens
				inner := len(ref) / e
				lo, hi := r*e/w*inner, (r+1)*e/w*inner
				ref = make([]float64, hi-lo)
				for s := range w {
					for j := range ref {
						ref[j] += want[s].grads[name][lo+j]
					}
				}
			}
			if d := maxDiff(g, ref); d > 1e-11 {
				t.Errorf("rank %d: gradient of %s differs by %g", r, name, d)
			}
		}
	}
}

// TestExpertParallelFloat32: a float32 layer of 8 experts, top-2, 64 tokens a
// rank, at 2 ranks agrees with the local dispatcher to float32 rounding:
// outputs, input gradients, and expert-shard gradients against the ranks'
// summed local ones.
func TestExpertParallelFloat32(t *testing.T) {
	const w, e, n, dModel = 2, 8, 64, 16
	cfg := layers.MoEConfig{Router: router.DefaultConfig(e, 2), DModel: dModel, ExpertFFN: 12}
	build := func() *layers.MoE {
		m, err := layers.NewMoE(autograd.Float32, "moe", cfg, 0.3, 0.3, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// run is one rank's float32 forward and backward of m on its tokens.
	run := func(m *layers.MoE, r int) pass {
		x := autograd.ToFloat32(autograd.RandN(rand.New(rand.NewPCG(8, uint64(r))), 1, n, dModel)) // [N, D]
		x.SetRequiresGrad(true)
		for _, p := range m.Experts.Params() {
			p.ZeroGrad()
		}
		tp := autograd.NewTape()
		y, _ := m.Forward(tp, x, false, nil)
		proj := autograd.ToFloat32(autograd.RandN(rand.New(rand.NewPCG(9, uint64(r))), 1, y.Shape()...))
		if err := tp.Backward(tp.Sum(tp.Mul(y, proj))); err != nil {
			panic(err)
		}
		out := pass{y: values(y), dx: grads(x), grads: map[string][]float64{}}
		for _, p := range m.Experts.Params() {
			out.grads[p.Name] = grads(p)
		}
		return out
	}
	whole := build()
	want := make([]pass, w)
	for r := range want {
		want[r] = run(whole, r)
	}
	comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]pass, w)
	errs := parallel.Run(comms, func(comm parallel.Comm) error {
		m := build()
		r := comm.Rank()
		shard, err := m.Experts.Shard(r*e/w, (r+1)*e/w)
		if err != nil {
			return err
		}
		m.Experts = shard
		if m.Dispatcher, err = parallel.NewExpertParallelDispatcher(comm, e); err != nil {
			return err
		}
		got[r] = run(m, r)
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range w {
		if d := maxDiff(got[r].y, want[r].y); d > 1e-5 {
			t.Errorf("rank %d: output differs from the local dispatcher's by %g", r, d)
		}
		if d := maxDiff(got[r].dx, want[r].dx); d > 1e-5 {
			t.Errorf("rank %d: input gradient differs by %g", r, d)
		}
		for name, g := range got[r].grads {
			inner := len(want[r].grads[name]) / e
			ref := make([]float64, len(g))
			for s := range w {
				for j := range ref {
					ref[j] += want[s].grads[name][r*e/w*inner+j]
				}
			}
			if d := maxDiff(g, ref); d > 1e-5 {
				t.Errorf("rank %d: gradient of %s differs from the summed local ones by %g", r, name, d)
			}
		}
	}
}

// TestExpertParallelLostPeer: a rank that leaves before the exchange makes
// its peer's Dispatch panic with a DispatchError naming it, within the
// timeout.
func TestExpertParallelLostPeer(t *testing.T) {
	c := moetest.Cases()[0]
	comms, err := parallel.NewLocal(2, parallel.LocalOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var caught *parallel.DispatchError
	errs := parallel.Run(comms, func(comm parallel.Comm) (err error) {
		if comm.Rank() == 1 {
			return errors.New("rank 1 leaves")
		}
		m := epLayer(t, c, 1, comm)
		defer func() {
			if p := recover(); p != nil {
				de, ok := p.(*parallel.DispatchError)
				if !ok {
					panic(p)
				}
				caught = de
			}
		}()
		m.Forward(autograd.NewNoGradTape(), input(1, 0, c.N), false, nil)
		return nil
	})
	if errs[1] == nil {
		t.Fatal("rank 1's error was lost")
	}
	var pe *parallel.Error
	if caught == nil || !errors.As(caught, &pe) || !pe.HasPeer(1) {
		t.Fatalf("rank 0 caught %v, want a DispatchError naming rank 1", caught)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("rank 0 noticed after %v, beyond the 2 s timeout", time.Since(start))
	}
}
