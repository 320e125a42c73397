package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
)

// ImportHF reads a HuggingFace Mixtral or Llama directory (config.json and one
// or more *.safetensors files) and returns a moetrain configuration and the
// model's tensors by moetrain name (experts stacked as [E, ., .]).
// Training settings take moetrain's defaults.
func ImportHF(dir string) (*configs.Config, map[string]*autograd.Tensor, error) {
	raw, err := os.ReadFile(filepath.Join(dir, HFConfigFile))
	if err != nil {
		return nil, nil, fmt.Errorf("import hf: %w (a HuggingFace model directory holds config.json and *.safetensors)", err)
	}
	var hc hfConfig
	if err := json.Unmarshal(raw, &hc); err != nil {
		return nil, nil, fmt.Errorf("import hf: %s: %w", filepath.Join(dir, HFConfigFile), err)
	}
	cfg, err := configFromHF(&hc)
	if err != nil {
		return nil, nil, fmt.Errorf("import hf: %s: %w", filepath.Join(dir, HFConfigFile), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("import hf: no *.safetensors file in %s", dir)
	}
	sort.Strings(files)
	// Compare what config.json implies with what the headers hold before
	// reading any tensor data or building a model sized by the config.
	stored, err := readHFHeaders(files)
	if err != nil {
		return nil, nil, fmt.Errorf("import hf: %w", err)
	}
	if err := checkHFHeaders(cfg, stored, filepath.Join(dir, HFConfigFile)); err != nil {
		return nil, nil, fmt.Errorf("import hf: %w", err)
	}
	experts := c0Experts(cfg)
	out := map[string]*autograd.Tensor{}
	byStacked := map[string]map[int]*autograd.Tensor{} // "layers.L.moe.experts.w1" -> expert -> [., .]
	for _, f := range files {
		ts, _, err := ReadSafetensors(f)
		if err != nil {
			return nil, nil, fmt.Errorf("import hf: %w", err)
		}
		if err := CheckFinite(ts, f, "weight", "the model is damaged or diverged; import a healthy copy"); err != nil {
			return nil, nil, fmt.Errorf("import hf: %w", err)
		}
		for name, t := range ts {
			if stacked, e, ok := parseHFExpert(name); ok {
				if byStacked[stacked] == nil {
					byStacked[stacked] = map[int]*autograd.Tensor{}
				}
				byStacked[stacked][e] = t
				continue
			}
			ours, ok := ourName(name)
			if !ok {
				if strings.Contains(name, "rotary_emb") {
					continue // buffers some exports include; recomputed here
				}
				return nil, nil, fmt.Errorf("import hf: %s: tensor %q is not part of a Mixtral/Llama model", f, name)
			}
			out[ours] = autograd.ToFloat32(t)
		}
	}
	for stacked, byExpert := range byStacked {
		t, err := stackExperts(stacked, byExpert, experts)
		if err != nil {
			return nil, nil, fmt.Errorf("import hf: %w", err)
		}
		out[stacked] = t
	}
	return cfg, out, nil
}

// configFromHF maps a config.json to a moetrain configuration. Its errors
// name config.json's fields (num_local_experts, hidden_size, ...), never
// moetrain's keys, since the file is what the user can fix.
func configFromHF(hc *hfConfig) (*configs.Config, error) {
	if problems := checkHF(hc); len(problems) > 0 {
		return nil, hfProblems(problems)
	}
	c := configs.Default()
	m := &c.Model
	m.VocabSize, m.DModel, m.NLayers = hc.VocabSize, hc.HiddenSize, hc.NumHiddenLayers
	m.NHeads, m.NKVHeads, m.MaxSeqLen = hc.NumAttentionHeads, hc.NumKeyValueHeads, hc.MaxPositionEmbeddings
	m.RopeTheta, m.NormEps, m.TieEmbeddings = hc.RopeTheta, hc.RMSNormEps, hc.TieWordEmbeddings
	m.FFNHiddenSize = hc.IntermediateSize
	if hc.InitializerRange > 0 {
		m.InitStd = hc.InitializerRange
	}
	if m.NKVHeads == 0 {
		m.NKVHeads = m.NHeads
	}
	switch hc.ModelType {
	case "mixtral":
		c.MoE.NumExperts = configs.Experts(hc.NumLocalExperts)
		c.MoE.TopK = hc.NumExpertsPerTok
		c.MoE.LayerFreq = configs.EveryLayer(1)
		c.MoE.ExpertFFNHiddenSize = hc.IntermediateSize
		c.MoE.SharedExperts, c.MoE.CapacityFactor = 0, 0
		c.MoE.Router = configs.RouterConfig{Type: configs.RouterTopKSoftmax, Normalize: true}
		if hc.RouterAuxLossCoef > 0 {
			c.MoE.AuxLossCoeff = hc.RouterAuxLossCoef
		}
	case "llama":
		c.MoE.NumExperts = configs.Experts(0)
		c.MoE.LayerFreq = configs.EveryLayer(0)
	}
	if c.Train.SeqLen > m.MaxSeqLen {
		c.Train.SeqLen = m.MaxSeqLen
	}
	if err := c.Validate(); err != nil {
		return nil, hfProblems(inHFTerms(err))
	}
	return c, nil
}

// checkHF lists what in config.json moetrain cannot build, each problem
// naming the field and its value.
func checkHF(hc *hfConfig) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if hc.ModelType != "mixtral" && hc.ModelType != "llama" {
		bad("model_type %q: moetrain imports \"mixtral\" and \"llama\"", hc.ModelType)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", hc.VocabSize}, {"hidden_size", hc.HiddenSize}, {"intermediate_size", hc.IntermediateSize},
		{"num_hidden_layers", hc.NumHiddenLayers}, {"num_attention_heads", hc.NumAttentionHeads},
		{"max_position_embeddings", hc.MaxPositionEmbeddings},
	} {
		if f.v < 1 {
			bad("%s = %d: must be at least 1 (is it missing?)", f.name, f.v)
		}
	}
	if hc.VocabSize >= 1 && hc.VocabSize < 256 {
		bad("vocab_size = %d: the imported run starts with the byte tokenizer, which needs at least 256 token ids", hc.VocabSize)
	}
	if !(hc.RopeTheta > 0) {
		bad("rope_theta = %v: must be > 0 (is it missing?)", hc.RopeTheta)
	}
	if !(hc.RMSNormEps > 0) {
		bad("rms_norm_eps = %v: must be > 0 (is it missing?)", hc.RMSNormEps)
	}
	if hc.InitializerRange < 0 {
		bad("initializer_range = %v: must be >= 0", hc.InitializerRange)
	}
	if h := hc.NumAttentionHeads; h >= 1 && hc.HiddenSize >= 1 {
		switch {
		case hc.HeadDim != 0 && hc.HeadDim*h != hc.HiddenSize:
			bad("head_dim = %d: head_dim * num_attention_heads (%d) must equal hidden_size = %d, which moetrain's attention needs",
				hc.HeadDim, hc.HeadDim*h, hc.HiddenSize)
		case hc.HiddenSize%h != 0:
			bad("hidden_size = %d: not divisible by num_attention_heads = %d", hc.HiddenSize, h)
		case (hc.HiddenSize/h)%2 != 0:
			bad("hidden_size = %d: the head width hidden_size/num_attention_heads = %d is odd, but RoPE rotates pairs", hc.HiddenSize, hc.HiddenSize/h)
		}
		if kv := hc.NumKeyValueHeads; kv < 0 || kv > 0 && h%kv != 0 {
			bad("num_key_value_heads = %d: must divide num_attention_heads = %d", kv, h)
		}
	}
	if hc.HiddenAct != "" && hc.HiddenAct != "silu" {
		bad("hidden_act %q: moetrain's MLPs are SwiGLU (silu)", hc.HiddenAct)
	}
	if hc.ModelType == "mixtral" {
		if hc.NumLocalExperts < 1 {
			bad("num_local_experts = %d: a Mixtral model needs at least 1 expert (is it missing?)", hc.NumLocalExperts)
		} else if k := hc.NumExpertsPerTok; k < 1 || k > hc.NumLocalExperts {
			bad("num_experts_per_tok = %d: must be in [1, num_local_experts = %d]", k, hc.NumLocalExperts)
		}
		if !(hc.RouterAuxLossCoef >= 0) {
			bad("router_aux_loss_coef = %v: must be >= 0", hc.RouterAuxLossCoef)
		}
	}
	return out
}

// hfFields names the config.json field each imported configuration key is
// read from.
var hfFields = map[string]string{
	"model.vocab_size": "vocab_size", "model.d_model": "hidden_size", "model.n_layers": "num_hidden_layers",
	"model.n_heads": "num_attention_heads", "model.n_kv_heads": "num_key_value_heads",
	"model.ffn_hidden_size": "intermediate_size", "model.max_seq_len": "max_position_embeddings",
	"model.rope_theta": "rope_theta", "model.norm_eps": "rms_norm_eps", "model.init_std": "initializer_range",
	"moe.num_experts": "num_local_experts", "moe.top_k": "num_experts_per_tok",
	"moe.expert_ffn_hidden_size": "intermediate_size", "moe.aux_loss_coeff": "router_aux_loss_coef",
	"train.seq_len": "max_position_embeddings",
}

// inHFTerms rewrites the problems configs' Validate found in an imported
// configuration with the config.json field each key came from. checkHF
// refuses what Validate would, so this is the net for rules added later.
func inHFTerms(err error) []string {
	var es configs.Errors
	if !errors.As(err, &es) {
		return []string{err.Error()}
	}
	out := make([]string, len(es))
	for i, e := range es {
		if field, ok := hfFields[e.Key]; ok {
			msg := e.Msg
			for key, f := range hfFields {
				msg = strings.ReplaceAll(msg, key, f) // "does not divide model.n_heads" -> "... num_attention_heads"
			}
			out[i] = fmt.Sprintf("%s: %s", field, msg)
		} else {
			out[i] = "the imported configuration: " + e.Error()
		}
	}
	return out
}

// hfProblems joins the problems found in config.json into one error.
func hfProblems(problems []string) error {
	return fmt.Errorf("%s; correct config.json", strings.Join(problems, "; "))
}

// parseHFExpert recognises model.layers.L.block_sparse_moe.experts.E.wX.weight.
func parseHFExpert(name string) (stacked string, expert int, ok bool) {
	parts := strings.Split(name, ".")
	if len(parts) != 8 || parts[0] != "model" || parts[1] != "layers" || parts[3] != "block_sparse_moe" || parts[4] != "experts" || parts[7] != "weight" {
		return "", 0, false
	}
	e, err := strconv.Atoi(parts[5])
	if err != nil {
		return "", 0, false
	}
	return fmt.Sprintf("layers.%s.moe.experts.%s", parts[2], parts[6]), e, true
}

func stackExperts(name string, byExpert map[int]*autograd.Tensor, e int) (*autograd.Tensor, error) {
	if len(byExpert) != e {
		return nil, fmt.Errorf("%s: found %d experts, config.json says %d", name, len(byExpert), e)
	}
	first, ok := byExpert[0]
	if !ok {
		return nil, fmt.Errorf("%s: expert 0 missing", name)
	}
	shape := append([]int{e}, first.Shape()...)
	out := autograd.New(autograd.Float32, shape...)
	inner := first.Len()
	for i := 0; i < e; i++ {
		t, ok := byExpert[i]
		if !ok || t.Len() != inner {
			return nil, fmt.Errorf("%s: expert %d missing or of another shape", name, i)
		}
		if !slices.Equal(t.Shape(), first.Shape()) {
			return nil, fmt.Errorf("%s: expert %d has shape %v, expert 0 has %v", name, i, t.Shape(), first.Shape())
		}
		for j := 0; j < inner; j++ {
			out.Set(i*inner+j, t.At(j))
		}
	}
	return out, nil
}

// c0Experts is the expert count of an imported configuration (Mixtral has
// one for every layer; 0 for Llama).
func c0Experts(c *configs.Config) int { return c.MoE.NumExperts.All }
