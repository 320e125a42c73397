package layers

// Mutations caught: copying from expert 0 instead of lo makes
// TestShardCopiesExperts fail (values and forward); sharing the original's
// buffer instead of copying fails its aliasing check; dropping the
// SetRequiresGrad line fails its frozen-experts check; accepting lo >= hi or
// hi > E fails TestShardRejectsBadRanges; dropping the LoRA check fails
// TestShardRejectsLoRA; not swapping the model's parameter list fails
// TestShardModelExperts; skipping the divisibility check fails
// TestShardModelExpertsErrors.

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestShardCopiesExperts: a shard holds copies of its experts' weights,
// named, typed and trainable like the originals, and computes what the
// whole stack computes on those experts' rows.
func TestShardCopiesExperts(t *testing.T) {
	const e, d, f, lo, hi = 5, 3, 4, 1, 4
	for _, dt := range []autograd.DType{autograd.Float64, autograd.Float32} {
		for _, frozen := range []bool{false, true} {
			x := NewExperts(dt, "moe.experts", e, d, f, 0.5, 0.5, rand.New(rand.NewPCG(1, 2)))
			if frozen {
				for _, p := range x.Params() {
					p.SetRequiresGrad(false)
				}
			}
			s, err := x.Shard(lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			if s.Count() != hi-lo {
				t.Fatalf("%v: shard holds %d experts, want %d", dt, s.Count(), hi-lo)
			}
			for i, p := range s.Params() {
				w := x.Params()[i]
				if p == w || p.Name != w.Name || p.DType() != w.DType() || p.RequiresGrad() != w.RequiresGrad() {
					t.Fatalf("%v frozen=%v: shard parameter %q (%v, grad %v) does not copy %q (%v, grad %v)",
						dt, frozen, p.Name, p.DType(), p.RequiresGrad(), w.Name, w.DType(), w.RequiresGrad())
				}
				if p.Dim(0) != hi-lo || p.Dim(1) != w.Dim(1) || p.Dim(2) != w.Dim(2) {
					t.Fatalf("%s: shard shape %v from %v", p.Name, p.Shape(), w.Shape())
				}
				inner := w.Len() / e
				for j := range p.Len() {
					if p.At(j) != w.At(lo*inner+j) {
						t.Fatalf("%s: element %d is %g, want expert %d's %g", p.Name, j, p.At(j), lo+j/inner, w.At(lo*inner+j))
					}
				}
				before := w.At(lo * inner)
				p.Set(0, before+1)
				if w.At(lo*inner) != before {
					t.Fatalf("%s: writing the shard changed the original", p.Name)
				}
				p.Set(0, before)
			}
			// The whole stack on rows routed only to experts [lo, hi) equals
			// the shard on the same rows.
			rows := []int{0, 2, 3, 1, 0} // [E] rows per expert, none for 0 and 4
			wholeOff, shardOff := []int{0}, []int{0}
			for ex, n := range rows {
				wholeOff = append(wholeOff, wholeOff[ex]+n)
				if ex >= lo && ex < hi {
					shardOff = append(shardOff, shardOff[len(shardOff)-1]+n)
				}
			}
			in := autograd.RandN(rand.New(rand.NewPCG(3, 4)), 1, wholeOff[e], d) // [M, D]
			if dt == autograd.Float32 {
				in = autograd.ToFloat32(in)
			}
			tp := autograd.NewNoGradTape()
			want, got := x.Forward(tp, in, wholeOff, false, nil), s.Forward(tp, in, shardOff, false, nil)
			for j := range want.Len() {
				if got.At(j) != want.At(j) {
					t.Fatalf("%v: shard output %d is %g, the whole stack's %g", dt, j, got.At(j), want.At(j))
				}
			}
		}
	}
}

// TestShardRejectsBadRanges: ranges that are empty, reversed or outside the
// experts are errors that give the range and the count.
func TestShardRejectsBadRanges(t *testing.T) {
	x := NewExperts(autograd.Float64, "moe.experts", 4, 3, 2, 0.5, 0.5, rand.New(rand.NewPCG(1, 1)))
	for _, r := range [][2]int{{-1, 2}, {2, 2}, {3, 2}, {3, 5}, {0, 5}} {
		s, err := x.Shard(r[0], r[1])
		if err == nil || s != nil {
			t.Errorf("Shard(%d, %d) of 4 experts: got %v, %v; want an error", r[0], r[1], s, err)
			continue
		}
		if !strings.Contains(err.Error(), "4 experts") {
			t.Errorf("Shard(%d, %d): error %q does not give the expert count", r[0], r[1], err)
		}
	}
	if _, err := x.Shard(0, 4); err != nil {
		t.Errorf("the whole range: %v", err)
	}
}

// TestShardRejectsLoRA: adapted experts cannot be sharded, and the model
// is left whole.
func TestShardRejectsLoRA(t *testing.T) {
	m := attached(t, autograd.Float64, allTargets(), false)
	moe := m.Blocks[1].MoE
	if _, err := moe.Experts.Shard(0, 1); err == nil || !strings.Contains(err.Error(), "LoRA") {
		t.Errorf("sharding adapted experts: %v, want an error about LoRA", err)
	}
	before := moe.Experts
	err := ShardModelExperts(m, 0, 3)
	if err == nil || !strings.Contains(err.Error(), "layer 1") || !strings.Contains(err.Error(), "LoRA") {
		t.Errorf("ShardModelExperts with adapters: %v, want an error naming layer 1 and LoRA", err)
	}
	if moe.Experts != before {
		t.Error("a refused ShardModelExperts replaced the experts")
	}
}

// TestShardModelExperts: every MoE layer keeps its rank's contiguous
// experts and the model's parameter list holds the shards in place of the
// whole stacks.
func TestShardModelExperts(t *testing.T) {
	cfg := tinyConfig()
	cfg.MoELayers = []bool{true, true}
	cfg.Experts = []int{4, 6}
	for _, ep := range []int{1, 2} {
		for rank := range ep {
			whole, err := New(cfg, autograd.Float64, 3)
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg, autograd.Float64, 3)
			if err != nil {
				t.Fatal(err)
			}
			if err := ShardModelExperts(m, rank, ep); err != nil {
				t.Fatal(err)
			}
			names := map[string]*autograd.Tensor{}
			for _, p := range m.Params() {
				names[p.Name] = p
			}
			if len(names) != len(whole.Params()) {
				t.Fatalf("ep %d: %d parameters, want %d", ep, len(names), len(whole.Params()))
			}
			for l, blk := range m.Blocks {
				e := cfg.Experts[l]
				lo := rank * e / ep
				if got := blk.MoE.Experts.Count(); got != e/ep {
					t.Fatalf("ep %d rank %d layer %d: %d experts, want %d", ep, rank, l, got, e/ep)
				}
				for i, p := range blk.MoE.Experts.Params() {
					if names[p.Name] != p {
						t.Fatalf("ep %d layer %d: the parameter list does not hold the shard %q", ep, l, p.Name)
					}
					w := whole.Blocks[l].MoE.Experts.Params()[i]
					inner := w.Len() / e
					for j := range p.Len() {
						if p.At(j) != w.At(lo*inner+j) {
							t.Fatalf("ep %d rank %d: %s element %d differs from the whole model's", ep, rank, p.Name, j)
						}
					}
				}
				if blk.MoE.Router.Config().NumExperts != e {
					t.Fatalf("layer %d: the router no longer scores all %d experts", l, e)
				}
			}
		}
	}
}

// TestShardModelExpertsErrors: an expert count the group does not divide
// names the layer and the count; a rank outside the group is refused.
func TestShardModelExpertsErrors(t *testing.T) {
	cfg := tinyConfig() // layer 1: 3 experts
	m, err := New(cfg, autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = ShardModelExperts(m, 0, 2)
	if err == nil || !strings.Contains(err.Error(), "layer 1") || !strings.Contains(err.Error(), "3 experts") {
		t.Errorf("3 experts over 2 ranks: %v, want an error naming layer 1 and its 3 experts", err)
	}
	if m.Blocks[1].MoE.Experts.Count() != 3 {
		t.Error("a refused ShardModelExperts changed the experts")
	}
	for _, rc := range [][2]int{{2, 2}, {-1, 3}, {0, 0}} {
		if err := ShardModelExperts(m, rc[0], rc[1]); err == nil {
			t.Errorf("rank %d of %d: no error", rc[0], rc[1])
		}
	}
}
