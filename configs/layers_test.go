package configs

import (
	"slices"
	"strings"
	"testing"
)

// TestLayerForms loads int and list forms of moe.layer_freq and moe.num_experts and checks the
// per-layer view that MoELayers and ExpertsForLayer give.
func TestLayerForms(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		moe     []bool
		experts []int
	}{
		{"all MoE", "layer_freq: 1\n  num_experts: 8", []bool{true, true, true, true}, []int{8, 8, 8, 8}},
		{"every 2nd", "layer_freq: 2\n  num_experts: 4", []bool{true, false, true, false}, []int{4, 0, 4, 0}},
		{"every 3rd", "layer_freq: 3\n  num_experts: 4", []bool{true, false, false, true}, []int{4, 0, 0, 4}},
		{"freq above layers", "layer_freq: 9\n  num_experts: 4", []bool{true, false, false, false}, []int{4, 0, 0, 0}},
		{"freq 0 is dense", "layer_freq: 0\n  num_experts: 8", []bool{false, false, false, false}, []int{0, 0, 0, 0}},
		{"0 experts is dense", "layer_freq: 1\n  num_experts: 0", []bool{false, false, false, false}, []int{0, 0, 0, 0}},
		{"flow list", "layer_freq: [0, 1, 1, 0]\n  num_experts: 8", []bool{false, true, true, false}, []int{0, 8, 8, 0}},
		{"block list", "layer_freq:\n    - 1\n    - 0\n    - 0\n    - 1\n  num_experts: 2", []bool{true, false, false, true}, []int{2, 0, 0, 2}},
		{"boolean list", "layer_freq: [true, false, true, true]\n  num_experts: 2", []bool{true, false, true, true}, []int{2, 0, 2, 2}},
		{"experts per layer", "layer_freq: 1\n  num_experts: [2, 4, 8, 16]", []bool{true, true, true, true}, []int{2, 4, 8, 16}},
		{"experts per MoE layer", "layer_freq: 2\n  num_experts: [4, 16]", []bool{true, false, true, false}, []int{4, 0, 16, 0}},
		{"both lists", "layer_freq: [0, 1, 0, 1]\n  num_experts: [3, 5]", []bool{false, true, false, true}, []int{0, 3, 0, 5}},
		{"all-zero list is dense", "layer_freq: [0, 0, 0, 0]\n  num_experts: []", []bool{false, false, false, false}, []int{0, 0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "moe:\n  top_k: 2\n  "+tc.yaml+"\n")
			c, err := Load(LoadOptions{ConfigRef: path})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.MoELayers(); !slices.Equal(got, tc.moe) {
				t.Errorf("MoELayers = %v, want %v", got, tc.moe)
			}
			for i, want := range tc.experts {
				if got := c.ExpertsForLayer(i); got != want {
					t.Errorf("ExpertsForLayer(%d) = %d, want %d", i, got, want)
				}
			}
			nMoE := 0
			for _, m := range tc.moe {
				if m {
					nMoE++
				}
			}
			if c.NumMoELayers() != nMoE || c.IsDense() != (nMoE == 0) {
				t.Errorf("NumMoELayers %d IsDense %v, want %d", c.NumMoELayers(), c.IsDense(), nMoE)
			}
		})
	}
}

func TestLayerFormMismatches(t *testing.T) {
	cases := []struct{ yaml, key, msg string }{
		{"layer_freq: [1, 0, 1]", "moe.layer_freq", "[1, 0, 1] has 3 entries but model.n_layers = 4"},
		{"layer_freq: 2\n  num_experts: [4, 4, 4]", "moe.num_experts", "[4, 4, 4] has 3 entries but moe.layer_freq makes 2 MoE layers"},
		{"layer_freq: [1, 1, 0, 0]\n  num_experts: [4]", "moe.num_experts", "[4] has 1 entry but moe.layer_freq makes 2 MoE layers"},
	}
	for _, tc := range cases {
		es := loadErrors(t, LoadOptions{ConfigRef: writeFile(t, "moe:\n  "+tc.yaml+"\n")})
		if len(es) != 1 || es[0].Key != tc.key || !strings.Contains(es[0].Error(), tc.msg) {
			t.Errorf("%s: got %v, want %s: %s", tc.yaml, es, tc.key, tc.msg)
		}
	}
}

func TestExpertsForLayerPanics(t *testing.T) {
	short := Default()
	short.MoE.NumExperts = ExpertsPerLayer(8, 8)
	cases := []struct {
		name  string
		c     *Config
		layer int
	}{
		{"negative layer", Default(), -1},
		{"layer past the end", Default(), 4},
		{"num_experts list too short", short, 2},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: ExpertsForLayer(%d) did not panic", tc.name, tc.layer)
				}
			}()
			tc.c.ExpertsForLayer(tc.layer)
		}()
	}
	if got := short.ExpertsForLayer(1); got != 8 {
		t.Errorf("ExpertsForLayer(1) of a short list = %d, want 8", got)
	}
}

func TestLayerFormStrings(t *testing.T) {
	for got, want := range map[string]string{
		EveryLayer(2).String():                   "2",
		LayerPattern(true, false, true).String(): "[1, 0, 1]",
		LayerPattern().String():                  "[]",
		Experts(8).String():                      "8",
		ExpertsPerLayer(4, 16).String():          "[4, 16]",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestHeadDim(t *testing.T) {
	if got := (ModelConfig{DModel: 128, NHeads: 4}).HeadDim(); got != 32 {
		t.Errorf("HeadDim = %d, want 32", got)
	}
	if got := (ModelConfig{DModel: 128}).HeadDim(); got != 0 {
		t.Errorf("HeadDim without heads = %d, want 0", got)
	}
}
