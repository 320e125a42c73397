package upcycle

import (
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestBTXOfIdenticalSourcesIsCopy: btx of three copies of one dense model is copy of it, weight for
// weight (the seed draws the same router).
func TestBTXOfIdenticalSourcesIsCopy(t *testing.T) {
	dense := loadConfig(t)
	a := newSource(t, "a", dense, autograd.Float32, 12)
	b, c := a, a
	b.Name, c.Name = "b", "c"
	moe := []string{"moe.num_experts=6", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "moe.shared_experts=1", "upcycle.shared_expert=true"}
	cp := mustConvert(t, moeTarget(t, moe...), a)
	btx := mustConvert(t, moeTarget(t, append(moe, "upcycle.method=btx")...), a, b, c)
	for k, p := range cp.Model.Params() {
		q := btx.Model.Params()[k]
		if d := maxDiff(values(p), values(q)); p.Name != q.Name || d > 1e-7 {
			t.Errorf("%s: btx differs from copy by %g", p.Name, d)
		}
	}
}

// TestBTXMixesSources: with S sources and E experts, experts s·E/S ... (s+1)·E/S-1 copy source s's
// FFN, the shared expert and every other weight are the sources' average, and the router is new.
func TestBTXMixesSources(t *testing.T) {
	dense := loadConfig(t)
	srcs := []Source{newSource(t, "a", dense, autograd.Float64, 1), newSource(t, "b", dense, autograd.Float64, 2)}
	res := mustConvert(t, moeTarget(t, "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "upcycle.method=btx",
		"moe.shared_experts=1", "upcycle.shared_expert=true"), srcs...)
	mean := func(name string) []float64 {
		a, b := values(param(t, srcs[0].Model, name)), values(param(t, srcs[1].Model, name))
		out := make([]float64, len(a))
		for i := range a {
			out[i] = (a[i] + b[i]) / 2
		}
		return out
	}
	for _, name := range []string{"embed_tokens.weight", "layers.1.self_attn.q_proj.weight", "layers.0.input_layernorm.weight", "norm.weight", "lm_head.weight"} {
		if d := maxDiff(values(param(t, res.Model, name)), mean(name)); d > 1e-15 {
			t.Errorf("%s is %g from the sources' average", name, d)
		}
	}
	for _, i := range res.Converted {
		x := res.Model.Blocks[i].MoE.Experts
		for e := range 4 {
			mlp := srcs[e/2].Model.Blocks[i].MLP
			if !slices.Equal(expertRow(x.W1, e, 5), expertRow(mlp.W1.W, 0, 5)) || !slices.Equal(column(x.W2, e, 3), scaled(column(mlp.W2.W, 0, 3), 0.5)) {
				t.Errorf("layer %d expert %d is not a copy of source %s's FFN", i, e, srcs[e/2].Name)
			}
		}
		sh := res.Model.Blocks[i].MoE.Shared
		if d := maxDiff(values(sh.W1.W), mean(srcs[0].Model.Blocks[i].MLP.W1.W.Name)); d > 1e-15 {
			t.Errorf("layer %d: the shared expert's w1 is %g from the sources' average", i, d)
		}
	}
}
