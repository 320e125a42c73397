package parallel_test

// Mutations caught: Combine not forcing a gradient on its output, so that a
// rank whose loss ignores the layer skips the backward exchange, fails
// TestExpertParallelOutputUnused (its peers' exchanges no longer match);
// Combine's backward not adding the returned
// gradient into the expert outputs fails the expert-gradient checks of
// TestExpertParallelEmptyParts and TestExpertParallelGradCheck; returning a
// plain error string instead of a *DispatchError fails
// TestExpertParallelPeerDiesMidway; sending float64 rows as D float32
// values instead of 2D fails every float64 comparison; skipping the regroup
// by local expert fails TestExpertParallelEmptyParts; swapping the counts
// of Combine's backward exchange fails TestExpertParallelGradCheck;
// Combine's backward receiving straight into a gradient that other ops
// already added to fails TestExpertParallelOutputsUsedTwice/E2.

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

// gather64 all-gathers one float64 per rank over comm, bit for bit, as two
// float32 halves.
func gather64(comm parallel.Comm) moetest.Gather {
	return func(v float64) ([]float64, error) {
		b := math.Float64bits(v)
		send := []float32{math.Float32frombits(uint32(b)), math.Float32frombits(uint32(b >> 32))}
		recv := make([]float32, 2*comm.Size())
		if err := comm.AllGather(send, recv); err != nil {
			return nil, err
		}
		out := make([]float64, comm.Size())
		for r := range out {
			out[r] = math.Float64frombits(uint64(math.Float32bits(recv[2*r])) | uint64(math.Float32bits(recv[2*r+1]))<<32)
		}
		return out, nil
	}
}

// TestExpertParallelGradCheck holds the expert-parallel layer's gradients,
// on every rank at once, to central differences of the loss summed over
// the ranks (moetest.GradCheckRanks): input, router, shared-expert and
// expert-shard gradients, each case at 2 ranks and the first at 4.
func TestExpertParallelGradCheck(t *testing.T) {
	for i, c := range moetest.Cases() {
		for _, w := range []int{2, 4} {
			if c.Router.NumExperts%w != 0 || (w == 4 && i > 0) {
				continue
			}
			t.Run(fmt.Sprintf("%s/W%d", c.Name, w), func(t *testing.T) {
				comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 10 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				rel := make([]float64, w)
				errs := parallel.Run(comms, func(comm parallel.Comm) error {
					m := epLayer(t, c, uint64(i), comm)
					if m == nil {
						return errors.New("no layer")
					}
					x := input(uint64(i), comm.Rank(), c.N)
					f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor {
						y, _ := m.Forward(tp, x, false, nil)
						if c.Twice {
							y, _ = m.Forward(tp, y, false, nil)
						}
						return y
					}
					var err error
					rel[comm.Rank()], err = moetest.GradCheckRanks(f, append([]*autograd.Tensor{x}, m.Params()...), 1e-6, comm.Rank(), gather64(comm))
					return err
				})
				for r, err := range errs {
					if err != nil {
						t.Fatalf("rank %d: %v", r, err)
					}
					if rel[r] > 1e-6 {
						t.Errorf("rank %d: gradients differ from finite differences by a relative %g", r, rel[r])
					}
				}
			})
		}
	}
}

// slotTable builds a routing of n tokens over e experts from each token's
// kept experts (ascending slots by expert, tokens ascending within one),
// with random combine weights [M, 1] that require grad.
func slotTable(n, e int, kept [][]int32, seed uint64) *router.Routing {
	rt := &router.Routing{Offsets: make([]int, e+1), ChoiceOffsets: make([]int, n+1)}
	for tok := range n {
		rt.ChoiceOffsets[tok+1] = rt.ChoiceOffsets[tok]
		if tok < len(kept) {
			rt.Choices = append(rt.Choices, kept[tok]...)
			rt.ChoiceOffsets[tok+1] += len(kept[tok])
		}
	}
	for ex := range e {
		rt.Offsets[ex] = len(rt.Token)
		for tok := range min(n, len(kept)) {
			for _, k := range kept[tok] {
				if int(k) == ex {
					rt.Token = append(rt.Token, int32(tok))
					rt.Expert = append(rt.Expert, int32(ex))
				}
			}
		}
	}
	rt.Offsets[e] = len(rt.Token)
	rt.Weight = autograd.RandN(rand.New(rand.NewPCG(seed, 5)), 1, len(rt.Token), 1) // [M, 1]
	rt.Weight.SetRequiresGrad(true)
	return rt
}

// dispatchPass runs dispatch, experts and combine on x [N, D] with routing
// rt, then backward under a fixed projection; it returns the output, the
// gradients of x and of the combine weights, and the experts' gradients.
func dispatchPass(d layers.Dispatcher, ex *layers.Experts, x *autograd.Tensor, rt *router.Routing, rank int) (y, dx, dw []float64, dexp [][]float64) {
	for _, p := range ex.Params() {
		p.ZeroGrad()
	}
	x.ZeroGrad()
	rt.Weight.ZeroGrad()
	tp := autograd.NewTape()
	permuted, plan := d.Dispatch(tp, x, rt)
	out := d.Combine(tp, ex.Forward(tp, permuted, plan.Offsets(), false, nil), plan) // [N, D]
	proj := autograd.RandN(rand.New(rand.NewPCG(uint64(rank), 3)), 1, out.Shape()...)
	if err := tp.Backward(tp.Sum(tp.Mul(out, proj))); err != nil {
		panic(err)
	}
	for _, p := range ex.Params() {
		dexp = append(dexp, grads(p))
	}
	return values(out), grads(x), grads(rt.Weight), dexp
}

// TestExpertParallelEmptyParts: ranks whose tokens are all dropped, ranks
// with no tokens, experts and whole ranks that receive nothing, and calls
// with no rows anywhere give the local dispatcher's outputs and gradients,
// and every rank still issues every exchange (a rank skipping one would
// leave its peers to time out).
func TestExpertParallelEmptyParts(t *testing.T) {
	const e, w, dModel, ffn = 4, 2, 3, 4
	type rankRouting struct {
		n    int
		kept [][]int32 // per token, its kept experts
	}
	cases := []struct {
		name  string
		ranks [w]rankRouting
	}{
		{"rank0_all_dropped", [w]rankRouting{{3, nil}, {4, [][]int32{{0, 3}, {1}, {2, 3}, {0}}}}},
		{"rank1_no_tokens", [w]rankRouting{{3, [][]int32{{1, 2}, {0}, {3}}}, {0, nil}}},
		{"rank1_experts_idle", [w]rankRouting{{2, [][]int32{{0, 1}, {1}}}, {3, [][]int32{{0}, {0, 1}, {1}}}}},
		{"expert2_idle_everywhere", [w]rankRouting{{2, [][]int32{{0, 3}, {1}}}, {2, [][]int32{{3}, {1, 0}}}}},
		{"nothing_anywhere", [w]rankRouting{{2, nil}, {3, nil}}},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			whole := layers.NewExperts(autograd.Float64, "experts", e, dModel, ffn, 0.5, 0.5, rand.New(rand.NewPCG(uint64(ci), 1)))
			x := func(r int) *autograd.Tensor {
				v := autograd.RandN(rand.New(rand.NewPCG(uint64(ci), 10+uint64(r))), 1, c.ranks[r].n, dModel) // [N, D]
				v.SetRequiresGrad(true)
				return v
			}
			rt := func(r int) *router.Routing {
				return slotTable(c.ranks[r].n, e, c.ranks[r].kept, uint64(10*ci+r))
			}
			type result struct {
				y, dx, dw []float64
				dexp      [][]float64
			}
			var want, got [w]result
			for r := range w {
				y, dx, dw, dexp := dispatchPass(layers.LocalDispatcher{}, whole, x(r), rt(r), r)
				want[r] = result{y, dx, dw, dexp}
			}
			comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			errs := parallel.Run(comms, func(comm parallel.Comm) error {
				r := comm.Rank()
				shard, err := whole.Shard(r*e/w, (r+1)*e/w)
				if err != nil {
					return err
				}
				d, err := parallel.NewExpertParallelDispatcher(comm, e)
				if err != nil {
					return err
				}
				y, dx, dw, dexp := dispatchPass(d, shard, x(r), rt(r), r)
				got[r] = result{y, dx, dw, dexp}
				return nil
			})
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			for r := range w {
				for _, cmp := range []struct {
					what      string
					got, want []float64
				}{{"output", got[r].y, want[r].y}, {"input gradient", got[r].dx, want[r].dx}, {"weight gradient", got[r].dw, want[r].dw}} {
					if d := maxDiff(cmp.got, cmp.want); d > 1e-12 {
						t.Errorf("rank %d: %s differs from the local dispatcher's by %g", r, cmp.what, d)
					}
				}
				for i, g := range got[r].dexp {
					inner := len(want[r].dexp[i]) / e
					ref := make([]float64, len(g))
					for s := range w {
						for j := range ref {
							ref[j] += want[s].dexp[i][r*e/w*inner+j]
						}
					}
					if d := maxDiff(g, ref); d > 1e-12 {
						t.Errorf("rank %d: gradient of %s differs from the ranks' summed local gradients by %g", r, whole.Params()[i].Name, d)
					}
				}
			}
		})
	}
}

// dyingComm is a rank's communicator that closes itself at its die-th
// AllToAllV, as a rank lost mid-layer would.
type dyingComm struct {
	parallel.Comm
	calls, die int
}

func (c *dyingComm) AllToAllV(send []float32, sendCounts []int, recv []float32, recvCounts []int) error {
	c.calls++
	if c.calls == c.die {
		c.Comm.Close()
		return errors.New("this rank stopped")
	}
	return c.Comm.AllToAllV(send, sendCounts, recv, recvCounts)
}

// TestExpertParallelPeerDiesMidway: a rank lost after the row counts are
// exchanged (its 2nd exchange, in the forward pass) or during the backward
// pass (its 4th) makes every surviving rank panic with a *DispatchError
// that wraps a *parallel.Error naming it, within the timeout; the dying
// rank itself panics with a *DispatchError too.
func TestExpertParallelPeerDiesMidway(t *testing.T) {
	c := moetest.Cases()[0]
	for _, die := range []struct {
		call       int
		collective string
	}{{2, "token rows to the experts"}, {4, "gradients of the expert outputs"}} {
		t.Run(fmt.Sprintf("exchange%d", die.call), func(t *testing.T) {
			const w, dead = 4, 2
			comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			comms[dead] = &dyingComm{Comm: comms[dead], die: die.call}
			caught := make([]*parallel.DispatchError, w)
			start := time.Now()
			errs := parallel.Run(comms, func(comm parallel.Comm) (err error) {
				r := comm.Rank()
				m := epLayer(t, c, 3, comm)
				if m == nil {
					return errors.New("no layer")
				}
				defer func() {
					if p := recover(); p != nil {
						de, ok := p.(*parallel.DispatchError)
						if !ok {
							err = fmt.Errorf("panicked with %T %v, want a *parallel.DispatchError", p, p)
							return
						}
						caught[r] = de
					}
				}()
				runLayer(m, c, input(3, r, c.N), r)
				return nil
			})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the ranks noticed after %v, beyond the 2 s timeout", took)
			}
			for r := range w {
				if errs[r] != nil {
					t.Errorf("rank %d: %v", r, errs[r])
					continue
				}
				de := caught[r]
				if de == nil {
					t.Errorf("rank %d: no panic", r)
					continue
				}
				if de.Collective != die.collective {
					t.Errorf("rank %d: failed in %q, want %q", r, de.Collective, die.collective)
				}
				if r == dead {
					continue
				}
				var pe *parallel.Error
				if !errors.As(de, &pe) || !pe.HasPeer(dead) {
					t.Errorf("rank %d: %v does not name rank %d", r, de, dead)
				}
			}
		})
	}
}

// TestExpertParallelOutputUnused: a rank whose loss does not use the
// layer's output (nothing flows back into its Combine) still runs the
// backward exchanges its peers wait for; the experts' gradients are then
// those of the other rank's tokens alone.
func TestExpertParallelOutputUnused(t *testing.T) {
	c := moetest.Cases()[0]
	const w, seed = 2, 4
	whole := newLayer(t, c, seed)
	want := runLayer(whole, c, input(seed, 0, c.N), 0)
	comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]map[string][]float64, w)
	var dx0 []float64
	errs := parallel.Run(comms, func(comm parallel.Comm) error {
		r := comm.Rank()
		m := epLayer(t, c, seed, comm)
		if m == nil {
			return errors.New("no layer")
		}
		x := input(seed, r, c.N)
		tp := autograd.NewTape()
		y, _ := m.Forward(tp, x, false, nil)
		loss := tp.Sum(tp.Mul(x, x)) // rank 1: the layer's output is unused
		if r == 0 {
			proj := autograd.RandN(rand.New(rand.NewPCG(0, 9)), 1, y.Shape()...) // as runLayer's
			loss = tp.Sum(tp.Mul(y, proj))
		}
		if err := tp.Backward(loss); err != nil {
			return err
		}
		if r == 0 {
			dx0 = grads(x)
		}
		got[r] = map[string][]float64{}
		for _, p := range m.Experts.Params() {
			got[r][p.Name] = grads(p)
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if d := maxDiff(dx0, want.dx); d > 1e-11 {
		t.Errorf("rank 0: input gradient differs from the local dispatcher's by %g", d)
	}
	e := c.Router.NumExperts
	for r := range w {
		for name, g := range got[r] {
			inner := len(want.grads[name]) / e
			if d := maxDiff(g, want.grads[name][r*e/w*inner:(r+1)*e/w*inner]); d > 1e-11 {
				t.Errorf("rank %d: gradient of %s differs from rank 0's local one by %g", r, name, d)
			}
		}
	}
}

// TestExpertParallelOutputsUsedTwice: when the experts' output feeds the
// loss directly as well as through Combine, Combine's backward adds to the
// gradient already there instead of overwriting it, with the two orders of
// rows agreeing (one expert a rank) or not (two): finite differences over
// both ranks hold every gradient.
func TestExpertParallelOutputsUsedTwice(t *testing.T) {
	const w, dModel, ffn = 2, 3, 4
	for _, e := range []int{2, 4} {
		t.Run(fmt.Sprintf("E%d", e), func(t *testing.T) {
			whole := layers.NewExperts(autograd.Float64, "experts", e, dModel, ffn, 0.5, 0.5, rand.New(rand.NewPCG(uint64(e), 1)))
			kept := [w][][]int32{{{0, 1}, {1}, {int32(e - 1)}}, {{int32(e - 1), 0}, {0}, {1}, {0, int32(e - 1)}}}
			comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			rel := make([]float64, w)
			errs := parallel.Run(comms, func(comm parallel.Comm) error {
				r := comm.Rank()
				shard, err := whole.Shard(r*e/w, (r+1)*e/w)
				if err != nil {
					return err
				}
				d, err := parallel.NewExpertParallelDispatcher(comm, e)
				if err != nil {
					return err
				}
				x := autograd.RandN(rand.New(rand.NewPCG(uint64(e), 20+uint64(r))), 1, len(kept[r]), dModel) // [N, D]
				x.SetRequiresGrad(true)
				rt := slotTable(len(kept[r]), e, kept[r], uint64(r))
				f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor {
					permuted, plan := d.Dispatch(tp, x, rt)
					out := shard.Forward(tp, permuted, plan.Offsets(), false, nil) // [R, D]
					y := d.Combine(tp, out, plan)                                  // [N, D]
					return tp.Add(tp.Sum(tp.Mul(y, y)), tp.Sum(tp.Mul(out, out)))
				}
				inputs := append([]*autograd.Tensor{x, rt.Weight}, shard.Params()...)
				rel[r], err = moetest.GradCheckRanks(f, inputs, 1e-6, r, gather64(comm))
				return err
			})
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
				if rel[r] > 1e-6 {
					t.Errorf("rank %d: gradients differ from finite differences by a relative %g", r, rel[r])
				}
			}
		})
	}
}
