package upcycle

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
)

// contains reports whether s contains every one of parts.
func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestConvertRefuses: every bad combination of target and sources is an error that names the key
// (as a configs.Errors, with the value and what to do) or the source, and builds nothing.
func TestConvertRefuses(t *testing.T) {
	dense := loadConfig(t)
	d1 := newSource(t, "runs/dense", dense, autograd.Float32, 1)
	d2 := newSource(t, "runs/dense2", dense, autograd.Float32, 2)
	wide := newSource(t, "runs/wide", loadConfig(t, "model.d_model=32"), autograd.Float32, 3)
	hybrid := newSource(t, "runs/hybrid", loadConfig(t, "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"moe.layer_freq=[1,0]"), autograd.Float32, 4)
	f64 := newSource(t, "runs/dense64", dense, autograd.Float64, 5)
	moe := []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"}
	cases := []struct {
		name    string
		sets    []string
		sources []Source
		key     string   // the key a configs.Errors names; "" for an error about the sources
		parts   []string // in the message
	}{
		{"MoE source", moe, []Source{hybrid}, "upcycle.allow_moe_source",
			[]string{"refuses source runs/hybrid, which already has MoE layers [0]", "set upcycle.allow_moe_source=true"}},
		{"MoE source for btx", append(slices.Clone(moe), "upcycle.method=btx", "upcycle.allow_moe_source=true"), []Source{hybrid, hybrid}, "upcycle.method",
			[]string{"dense sources only", "runs/hybrid"}},
		{"model width differs", append(slices.Clone(moe), "model.d_model=32"), []Source{d1}, "model.d_model",
			[]string{"32 differs from source runs/dense's 16", "set model.d_model=16"}},
		{"layer count differs", append(slices.Clone(moe), "model.n_layers=3"), []Source{d1}, "model.n_layers", []string{"3 differs", "set model.n_layers=2"}},
		{"dense width differs with a dense layer left", append(slices.Clone(moe), "moe.layer_freq=2", "model.ffn_hidden_size=64"), []Source{d1},
			"model.ffn_hidden_size", []string{"64 differs from source runs/dense's 32"}},
		{"E not a multiple of the btx sources", []string{"moe.num_experts=3", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "upcycle.method=btx"},
			[]Source{d1, d2}, "moe.num_experts", []string{"gives layer 0 3 experts, not a multiple of the 2 btx sources"}},
		{"expert width not F/G", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=8", "upcycle.method=granular",
			"upcycle.granularity=2"}, []Source{d1}, "moe.expert_ffn_hidden_size",
			[]string{"8 is not the dense FFN width 32 / upcycle.granularity 2 = 16", "set moe.expert_ffn_hidden_size=16"}},
		{"G does not divide F", []string{"moe.num_experts=6", "moe.top_k=3", "moe.expert_ffn_hidden_size=10", "upcycle.method=granular",
			"upcycle.granularity=3"}, []Source{d1}, "upcycle.granularity", []string{"3 does not divide the dense FFN width 32"}},
		{"expert width not F for copy", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16"}, []Source{d1},
			"moe.expert_ffn_hidden_size", []string{"16 is not the dense FFN width 32", "upcycle.method=granular with upcycle.granularity=2"}},
		{"shared width mismatch", append(slices.Clone(moe), "moe.shared_experts=2", "upcycle.shared_expert=true"), []Source{d1}, "moe.shared_experts",
			[]string{"2 x moe.expert_ffn_hidden_size 32 = 64 is not the dense FFN width 32", "set moe.shared_experts=1"}},
		{"shared expert without shared experts", append(slices.Clone(moe), "upcycle.shared_expert=true"), []Source{d1}, "moe.shared_experts",
			[]string{"0 x moe.expert_ffn_hidden_size 32 = 0", "set moe.shared_experts=1"}},
		{"shared experts without shared_expert", append(slices.Clone(moe), "moe.shared_experts=1"), []Source{d1}, "upcycle.shared_expert",
			[]string{"nothing to start from", "set upcycle.shared_expert=true"}},
		{"several sources without btx", moe, []Source{d1, d2}, "upcycle.method",
			[]string{`"copy" takes one source, not 2 (runs/dense, runs/dense2)`, "upcycle.method=btx"}},
		{"dense target", nil, []Source{d1}, "moe.num_experts", []string{"nothing to upcycle"}},
		{"kept MoE layer of another shape", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=32", "upcycle.allow_moe_source=true"},
			[]Source{hybrid}, "moe.num_experts", []string{"gives layer 0 8 experts, but source runs/hybrid's MoE layer 0 is kept as it is with 4"}},
		{"MoE layer made dense", append(slices.Clone(moe), "moe.layer_freq=[0,1]", "upcycle.allow_moe_source=true"), []Source{hybrid}, "moe.layer_freq",
			[]string{"makes layer 0 dense, but it is an MoE layer in source runs/hybrid"}},
		{"nothing new to upcycle", append(slices.Clone(moe), "moe.layer_freq=[1,0]", "upcycle.allow_moe_source=true"), []Source{hybrid}, "moe.layer_freq",
			[]string{"makes MoE only the layers that are MoE in source runs/hybrid already"}},
		{"btx sources of two shapes", append(slices.Clone(moe), "upcycle.method=btx"), []Source{d1, wide}, "",
			[]string{"source runs/wide has model.d_model = 32 but source runs/dense has 16"}},
		{"btx sources of two dtypes", append(slices.Clone(moe), "upcycle.method=btx"), []Source{d1, f64}, "",
			[]string{"source runs/dense64 holds float64 weights but source runs/dense holds float32"}},
		{"no source", moe, nil, "", []string{"no source to upcycle from"}},
		{"source without a model", moe, []Source{{Name: "runs/empty", Config: dense}}, "", []string{"source runs/empty: no configuration or no model"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := moeTarget(t, tc.sets...)
			res, err := Convert(target, tc.sources)
			if err == nil {
				t.Fatalf("converted (%d layers), want an error", len(res.Converted))
			}
			if res != nil {
				t.Error("a result beside the error")
			}
			msg := err.Error()
			if !contains(msg, tc.parts...) {
				t.Errorf("error %q lacks one of %q", msg, tc.parts)
			}
			var es configs.Errors
			switch {
			case tc.key == "" && errors.As(err, &es):
				t.Errorf("want an error about the sources, got one about keys %v", es.Keys())
			case tc.key == "":
			case !errors.As(err, &es):
				t.Errorf("want a configs.Errors naming %s, got %v", tc.key, err)
			case !slices.Equal(es.Keys(), []string{tc.key}):
				t.Errorf("keys %v, want [%s]: %v", es.Keys(), tc.key, err)
			case es[0].Hint == "":
				t.Errorf("%v says nothing about what to do", err)
			}
		})
	}
	if _, err := Convert(nil, []Source{d1}); err == nil || !contains(err.Error(), "no target configuration") {
		t.Errorf("nil target: %v", err)
	}
}

// TestConvertValidatesTarget: a target that configs.Load would refuse is refused by Convert too,
// naming the key: Convert takes hand-built configurations as well as loaded ones.
func TestConvertValidatesTarget(t *testing.T) {
	src := newSource(t, "runs/dense", loadConfig(t), autograd.Float32, 1)
	cases := []struct {
		name  string
		sets  []string
		edit  func(c *configs.Config)
		key   string
		parts []string
	}{
		{"top_k above experts", []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"},
			func(c *configs.Config) { c.MoE.TopK = 5 }, "moe.top_k", []string{"target configuration: moe.top_k: 5 must be in [1, 4]"}},
		{"K not a multiple of G", []string{"moe.num_experts=8", "moe.top_k=2", "moe.expert_ffn_hidden_size=16", "upcycle.method=granular",
			"upcycle.granularity=2"}, func(c *configs.Config) { c.MoE.TopK = 3 }, "moe.top_k", []string{"3 is not a multiple of upcycle.granularity = 2"}},
		{"E not a multiple of G", []string{"moe.num_experts=8", "moe.top_k=4", "moe.expert_ffn_hidden_size=8", "upcycle.method=granular",
			"upcycle.granularity=4"}, func(c *configs.Config) { c.MoE.NumExperts = configs.Experts(6) }, "moe.num_experts",
			[]string{"gives layer 0 6 experts, not a multiple of upcycle.granularity = 4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := moeTarget(t, tc.sets...)
			if _, err := Convert(target, []Source{src}); err != nil {
				t.Fatalf("before the edit: %v", err)
			}
			tc.edit(target)
			_, err := Convert(target, []Source{src})
			var es configs.Errors
			if !errors.As(err, &es) || !slices.Equal(es.Keys(), []string{tc.key}) || !contains(err.Error(), tc.parts...) {
				t.Errorf("got %v, want an error naming %s with %q", err, tc.key, tc.parts)
			}
		})
	}
}
