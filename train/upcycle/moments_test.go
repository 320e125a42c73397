package upcycle

import (
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestCarryOptimizer: with carry_optimizer the moments land where the weights do: a copied weight
// brings its moments, expert c·G+j the moments of shard j of the FFN (not rescaled), and new router
// rows and re-initialised neurons start at zero. Every target parameter gets both moments.
func TestCarryOptimizer(t *testing.T) {
	dense := loadConfig(t)
	src := withMoments(newSource(t, "dense", dense, autograd.Float64, 21), 1)
	res := mustConvert(t, moeTarget(t, "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
		"upcycle.method=granular", "upcycle.granularity=2", "upcycle.carry_optimizer=true", "upcycle.noise_std=0.1"), src)
	for _, moments := range []struct {
		name     string
		got, src map[string]*autograd.Tensor
	}{{"exp_avg", res.ExpAvg, src.ExpAvg}, {"exp_avg_sq", res.ExpAvgSq, src.ExpAvgSq}} {
		if len(moments.got) != len(res.Model.Params()) {
			t.Fatalf("%s: %d moments for %d parameters", moments.name, len(moments.got), len(res.Model.Params()))
		}
		for _, name := range []string{"embed_tokens.weight", "layers.0.self_attn.o_proj.weight", "norm.weight"} {
			if !slices.Equal(values(moments.got[name]), values(moments.src[name])) {
				t.Errorf("%s of %s is not the source's", moments.name, name)
			}
		}
		for _, i := range res.Converted {
			blk := res.Model.Blocks[i]
			if gate := moments.got[blk.MoE.Router.Params()[0].Name]; slices.ContainsFunc(values(gate), func(v float64) bool { return v != 0 }) {
				t.Errorf("%s of layer %d's router is not zero", moments.name, i)
			}
			mlp := src.Model.Blocks[i].MLP
			w1, w2 := moments.got[blk.MoE.Experts.W1.Name], moments.got[blk.MoE.Experts.W2.Name]
			for e := range 4 {
				j := e % 2
				for r := range 16 {
					if !slices.Equal(expertRow(w1, e, r), expertRow(moments.src[mlp.W1.W.Name], 0, j*16+r)) ||
						!slices.Equal(column(w2, e, r), column(moments.src[mlp.W2.W.Name], 0, j*16+r)) {
						t.Fatalf("%s of layer %d expert %d neuron %d is not that of dense neuron %d", moments.name, i, e, r, j*16+r)
					}
				}
			}
		}
	}
}

// TestCarryOptimizerDrop: the moments of re-initialised neurons are zero, the others the FFN's.
func TestCarryOptimizerDrop(t *testing.T) {
	dense := loadConfig(t)
	src := withMoments(newSource(t, "dense", dense, autograd.Float64, 22), 2)
	res := mustConvert(t, moeTarget(t, "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"upcycle.method=drop", "upcycle.drop_ratio=0.25", "upcycle.carry_optimizer=true"), src)
	for _, i := range res.Converted {
		x, mlp := res.Model.Blocks[i].MoE.Experts, src.Model.Blocks[i].MLP
		for e := range 4 {
			zero := 0
			for n := range 32 {
				dropped := !slices.Equal(expertRow(x.W3, e, n), expertRow(mlp.W3.W, 0, n))
				m := expertRow(res.ExpAvg[x.W3.Name], e, n)
				switch {
				case dropped && slices.ContainsFunc(m, func(v float64) bool { return v != 0 }):
					t.Errorf("layer %d expert %d: re-initialised neuron %d has a nonzero exp_avg", i, e, n)
				case dropped:
					zero++
				case !slices.Equal(m, expertRow(src.ExpAvg[mlp.W3.W.Name], 0, n)):
					t.Errorf("layer %d expert %d: kept neuron %d does not carry its exp_avg", i, e, n)
				}
			}
			if zero != 8 {
				t.Errorf("layer %d expert %d: %d neurons with zero moments, want 8", i, e, zero)
			}
		}
	}
}

// TestCarryOptimizerOff: without carry_optimizer, or when a source lacks moments, there are none;
// a parameter the source has no moment for (one it trained frozen) starts at zero.
func TestCarryOptimizerOff(t *testing.T) {
	dense := loadConfig(t)
	bare := newSource(t, "dense", dense, autograd.Float32, 23)
	moe := []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"}
	if res := mustConvert(t, moeTarget(t, moe...), withMoments(bare, 1)); res.ExpAvg != nil || res.ExpAvgSq != nil {
		t.Error("moments without upcycle.carry_optimizer")
	}
	carry := moeTarget(t, append(moe, "upcycle.carry_optimizer=true")...)
	if res := mustConvert(t, carry, bare); res.ExpAvg != nil || res.ExpAvgSq != nil {
		t.Error("moments from a source that has none")
	}
	partial := withMoments(bare, 1)
	delete(partial.ExpAvg, "norm.weight")
	res := mustConvert(t, carry, partial)
	if m := res.ExpAvg["norm.weight"]; m == nil || slices.ContainsFunc(values(m), func(v float64) bool { return v != 0 }) {
		t.Errorf("exp_avg of a parameter without one: %v, want zeros", m)
	}
	wrong := withMoments(bare, 1)
	wrong.ExpAvgSq["lm_head.weight"] = autograd.New(autograd.Float32, 3)
	if _, err := Convert(carry, []Source{wrong}); err == nil || !contains(err.Error(), "source dense", "lm_head.weight", "[3]") {
		t.Errorf("a moment of the wrong shape: %v", err)
	}
}
