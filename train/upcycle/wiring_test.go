package upcycle

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
)

// TestConfigWiringUpcycle follows every upcycle.* key, set with --set over a copy target, into what
// Convert builds: each must change the conversion the way the key says (train's
// TestConfigWiringModel checks that they leave the model, loss and optimizer settings alone). A key
// without an entry here fails the test.
func TestConfigWiringUpcycle(t *testing.T) {
	moe := []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"}
	dense := loadConfig(t)
	src := withMoments(newSource(t, "dense", dense, autograd.Float64, 51), 3)
	hybrid := newSource(t, "hybrid", moeTarget(t, append(slices.Clone(moe), "moe.layer_freq=[1,0]")...), autograd.Float64, 52)
	base := mustConvert(t, moeTarget(t, moe...), src)
	// changed counts the expert w1 rows of layer 0 that are not the dense FFN's.
	changed := func(res *Result) int {
		n := 0
		x, mlp := res.Model.Blocks[0].MoE.Experts, src.Model.Blocks[0].MLP
		for e := range x.Count() {
			for r := range x.W1.Dim(1) {
				if !slices.Equal(expertRow(x.W1, e, r), expertRow(mlp.W1.W, 0, r)) {
					n++
				}
			}
		}
		return n
	}
	gateStd := func(res *Result) float64 { _, s := meanStd(res.Model.Blocks[0].MoE.Router.Params()[0]); return s }
	checks := map[string]struct {
		sets    []string
		sources []Source
		check   func(res *Result) bool
	}{
		"upcycle.method": {[]string{"upcycle.method=drop"}, nil, func(res *Result) bool {
			return changed(base) == 0 && changed(res) == 4*16 // drop_ratio 0.5 of 32 neurons in 4 experts
		}},
		"upcycle.granularity": {[]string{"upcycle.method=granular", "upcycle.granularity=2", "moe.expert_ffn_hidden_size=16"}, nil,
			func(res *Result) bool { return res.Model.Blocks[0].MoE.Experts.W1.Dim(1) == 16 }},
		"upcycle.router_init_std": {[]string{"upcycle.router_init_std=0.5"}, nil, func(res *Result) bool {
			return gateStd(base) < 0.05 && gateStd(res) > 0.3
		}},
		"upcycle.drop_ratio": {[]string{"upcycle.method=drop", "upcycle.drop_ratio=0.25"}, nil, func(res *Result) bool {
			return changed(res) == 4*8
		}},
		"upcycle.shared_expert": {[]string{"upcycle.shared_expert=true", "moe.shared_experts=1"}, nil, func(res *Result) bool {
			sh := res.Model.Blocks[0].MoE.Shared
			return sh != nil && slices.Equal(values(sh.W1.W), values(src.Model.Blocks[0].MLP.W1.W))
		}},
		"upcycle.carry_optimizer": {[]string{"upcycle.carry_optimizer=true"}, nil, func(res *Result) bool {
			return base.ExpAvg == nil && res.ExpAvg != nil && res.ExpAvgSq != nil
		}},
		"upcycle.noise_std": {[]string{"upcycle.noise_std=0.05"}, nil, func(res *Result) bool {
			x, mlp := res.Model.Blocks[0].MoE.Experts, src.Model.Blocks[0].MLP
			d := maxDiff(expertRow(x.W1, 1, 0), expertRow(mlp.W1.W, 0, 0))
			return changed(res) == 4*32 && d > 0 && d < 0.25 && !math.IsNaN(d)
		}},
		"upcycle.allow_moe_source": {[]string{"upcycle.allow_moe_source=true"}, []Source{hybrid}, func(res *Result) bool {
			_, err := Convert(moeTarget(t, moe...), []Source{hybrid}) // refused without the key
			return err != nil && slices.Equal(res.Converted, []int{1})
		}},
	}
	for _, key := range configs.Keys() {
		if _, ok := checks[key]; strings.HasPrefix(key, "upcycle.") && !ok {
			t.Errorf("%s: no check follows it into Convert", key)
		}
	}
	for key, ck := range checks {
		target := moeTarget(t, append(slices.Clone(moe), ck.sets...)...)
		sources := ck.sources
		if sources == nil {
			sources = []Source{src}
		}
		res, err := Convert(target, sources)
		if err != nil {
			t.Errorf("%s %v: %v", key, ck.sets, err)
			continue
		}
		if !ck.check(res) {
			t.Errorf("%s: with %v Convert built what it builds without it", key, ck.sets)
		}
	}
}
