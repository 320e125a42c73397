package prune

// Mutations caught (each tried):
//   - prune.go PrunedConfig: accepting keep = E (checking keep > e) makes the
//     "keep all" case fail.
//   - prune.go Prune: not calling checkModel makes the "other model" case
//     fail: a model of 4 experts is pruned as if its configuration's 6 were
//     its own.

import (
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
)

func TestBadInput(t *testing.T) {
	c := smallConfig(t, nil)
	m := model64(t, c, 1)
	dense := smallConfig(t, func(c *configs.Config) { c.MoE.NumExperts = configs.Experts(0) })
	other := smallConfig(t, func(c *configs.Config) { c.MoE.NumExperts = configs.Experts(6) })
	toks := randomTokens(100, c.Model.VocabSize, 2)
	ok := Options{Keep: 2, Method: Frequency}
	with := func(f func(o *Options)) Options { o := ok; f(&o); return o }
	cases := []struct {
		name string
		cfg  *configs.Config
		toks []int32
		opt  Options
		want string
	}{
		{"keep 0", c, toks, with(func(o *Options) { o.Keep = 0 }), "keep 0 experts: keep at least 1"},
		{"keep all", c, toks, with(func(o *Options) { o.Keep = 4 }), "layer 0 has 4 (moe.num_experts = 4): keep fewer than 4"},
		{"keep more", c, toks, with(func(o *Options) { o.Keep = 9 }), "keep 9 experts, but layer 0 has 4"},
		{"dense", dense, toks, ok, "the model is dense (moe.num_experts = 0)"},
		{"method", c, toks, with(func(o *Options) { o.Method = "magnitude" }), `method "magnitude": want frequency or reconstruction`},
		{"batches", c, toks, with(func(o *Options) { o.Batches = -1 }), "-1 calibration batches"},
		{"max subsets", c, toks, with(func(o *Options) { o.Method, o.MaxSubsets = Reconstruction, -2 }), "max subsets -2"},
		{"no data", c, toks[:1], ok, "1 calibration tokens: the data needs at least 2"},
		{"other model", other, toks, ok, "layer 0 has 4 experts, its configuration 6"},
	}
	for _, tc := range cases {
		res, err := Prune(tc.cfg, m, tc.toks, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Prune = %v, want an error containing %q", tc.name, err, tc.want)
		}
		if res != nil {
			t.Errorf("%s: a result beside the error", tc.name)
		}
	}
}

func TestApplyBadKeep(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) { c.Model.NLayers, c.MoE.LayerFreq = 2, configs.LayerPattern(true, false) })
	m := model64(t, c, 1)
	pc, err := PrunedConfig(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keep [][]int
		want string
	}{
		{[][]int{{0, 1}}, "1 kept-expert lists for 2 layers"},
		{[][]int{{0, 1, 2}, nil}, "layer 0: 3 kept experts [0 1 2] for a pruned layer of 2"},
		{[][]int{{2, 1}, nil}, "not ascending"},
		{[][]int{{1, 4}, nil}, "kept expert 4 outside [0, 4)"},
		{[][]int{{0, 1}, {0, 1}}, "layer 1 is dense but has kept experts"},
	} {
		if _, err := Apply(pc, m, tc.keep); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Apply(%v) = %v, want an error containing %q", tc.keep, err, tc.want)
		}
	}
	if _, err := Apply(c, m, [][]int{{0, 1}, nil}); err == nil || !strings.Contains(err.Error(), "for a pruned layer of 4") {
		t.Errorf("Apply with the unpruned configuration = %v", err)
	}
}
