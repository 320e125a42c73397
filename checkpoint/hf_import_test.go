package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
)

// tinyMixtral is a valid config.json of a small Mixtral model.
func tinyMixtral() hfConfig {
	return hfConfig{ModelType: "mixtral", VocabSize: 256, HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, MaxPositionEmbeddings: 128, RopeTheta: 1e6, RMSNormEps: 1e-5,
		HiddenAct: "silu", InitializerRange: 0.02, NumLocalExperts: 4, NumExpertsPerTok: 2, RouterAuxLossCoef: 0.02}
}

// writeHFConfig writes hc as dir/hf/tiny/config.json and returns the model directory.
func writeHFConfig(t *testing.T, hc hfConfig) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hf", "tiny")
	data, err := json.Marshal(hc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, HFConfigFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// moetrainKey matches a moetrain configuration key such as moe.num_experts.
var moetrainKey = regexp.MustCompile(`\b(model|moe|train|data|parallel)\.[a-z_]+`)

// TestImportHFNamesConfigJSONFields: a config.json moetrain cannot build is refused with the file
// and the field as config.json spells it, never a moetrain key.
func TestImportHFNamesConfigJSONFields(t *testing.T) {
	cases := []struct {
		name string
		edit func(*hfConfig)
		want string
	}{
		{"no experts", func(h *hfConfig) { h.NumLocalExperts = 0 }, "num_local_experts = 0: a Mixtral model needs at least 1 expert"},
		{"top-k above experts", func(h *hfConfig) { h.NumExpertsPerTok = 5 }, "num_experts_per_tok = 5: must be in [1, num_local_experts = 4]"},
		{"top-k missing", func(h *hfConfig) { h.NumExpertsPerTok = 0 }, "num_experts_per_tok = 0"},
		{"kv heads not dividing", func(h *hfConfig) { h.NumKeyValueHeads = 3 }, "num_key_value_heads = 3: must divide num_attention_heads = 4"},
		{"width not divisible", func(h *hfConfig) { h.HiddenSize = 66 }, "hidden_size = 66: not divisible by num_attention_heads = 4"},
		{"odd head width", func(h *hfConfig) { h.HiddenSize = 68 }, "hidden_size = 68: the head width hidden_size/num_attention_heads = 17 is odd"},
		{"head_dim", func(h *hfConfig) { h.HeadDim = 8 }, "head_dim = 8"},
		{"no layers", func(h *hfConfig) { h.NumHiddenLayers = 0 }, "num_hidden_layers = 0"},
		{"no intermediate size", func(h *hfConfig) { h.IntermediateSize = 0 }, "intermediate_size = 0"},
		{"no positions", func(h *hfConfig) { h.MaxPositionEmbeddings = 0 }, "max_position_embeddings = 0"},
		{"small vocabulary", func(h *hfConfig) { h.VocabSize = 100 }, "vocab_size = 100"},
		{"rope theta missing", func(h *hfConfig) { h.RopeTheta = 0 }, "rope_theta = 0"},
		{"norm eps missing", func(h *hfConfig) { h.RMSNormEps = 0 }, "rms_norm_eps = 0"},
		{"negative aux coefficient", func(h *hfConfig) { h.RouterAuxLossCoef = -1 }, "router_aux_loss_coef = -1"},
		{"activation", func(h *hfConfig) { h.HiddenAct = "gelu" }, `hidden_act "gelu"`},
		{"model type", func(h *hfConfig) { h.ModelType = "gpt2" }, `model_type "gpt2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := tinyMixtral()
			tc.edit(&hc)
			dir := writeHFConfig(t, hc)
			_, _, err := ImportHF(dir)
			if err == nil {
				t.Fatal("imported")
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Join("hf", "tiny", HFConfigFile)+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name %s in hf/tiny/config.json", msg, tc.want)
			}
			if k := moetrainKey.FindString(msg); k != "" {
				t.Errorf("error %q names the moetrain key %s", msg, k)
			}
			if strings.Count(msg, "import hf:") != 1 {
				t.Errorf("error %q repeats its prefix", msg)
			}
		})
	}
}

// TestConfigFromHF: a valid config.json maps field by field, and a dense Llama has no experts.
func TestConfigFromHF(t *testing.T) {
	hc := tinyMixtral()
	c, err := configFromHF(&hc)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model
	if m.VocabSize != 256 || m.DModel != 64 || m.NLayers != 2 || m.NHeads != 4 || m.NKVHeads != 2 || m.MaxSeqLen != 128 ||
		m.RopeTheta != 1e6 || m.NormEps != 1e-5 || m.InitStd != 0.02 || c.MoE.ExpertFFNHiddenSize != 128 ||
		c.ExpertsForLayer(1) != 4 || c.MoE.TopK != 2 || c.MoE.AuxLossCoeff != 0.02 || c.Train.SeqLen != 128 {
		t.Errorf("mapped to %+v %+v", c.Model, c.MoE)
	}
	hc.ModelType, hc.NumLocalExperts, hc.NumExpertsPerTok, hc.NumKeyValueHeads = "llama", 0, 0, 0
	c, err = configFromHF(&hc)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsDense() || c.Model.FFNHiddenSize != 128 || c.Model.NKVHeads != 4 {
		t.Errorf("llama mapped to %+v, dense %v", c.Model, c.IsDense())
	}
}

// TestInHFTerms: a rule of configs' Validate that checkHF does not know yet is still reported with
// the config.json field its key is read from.
func TestInHFTerms(t *testing.T) {
	err := configs.Errors{
		{Key: "moe.top_k", Value: "9", Msg: "9 must be in [1, 8]", Hint: "route each token to at most num_experts experts"},
		{Key: "model.n_kv_heads", Value: "3", Msg: "3 does not divide model.n_heads = 4", Hint: "use a divisor of n_heads"},
		{Key: "train.lr", Value: "0", Msg: "0 must be > 0", Hint: "give a positive learning rate"},
	}
	got := inHFTerms(err)
	if len(got) != 3 || got[0] != "num_experts_per_tok: 9 must be in [1, 8]" ||
		got[1] != "num_key_value_heads: 3 does not divide num_attention_heads = 4" ||
		!strings.HasPrefix(got[2], "the imported configuration: train.lr: ") {
		t.Errorf("inHFTerms = %q", got)
	}
}
