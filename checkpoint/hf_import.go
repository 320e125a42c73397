package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	out := map[string]*autograd.Tensor{}
	experts := map[string]map[int]*autograd.Tensor{} // "layers.L.moe.experts.w1" -> expert -> [., .]
	for _, f := range files {
		ts, _, err := ReadSafetensors(f)
		if err != nil {
			return nil, nil, fmt.Errorf("import hf: %w", err)
		}
		for name, t := range ts {
			if stacked, e, ok := parseHFExpert(name); ok {
				if experts[stacked] == nil {
					experts[stacked] = map[int]*autograd.Tensor{}
				}
				experts[stacked][e] = t
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
	for stacked, byExpert := range experts {
		t, err := stackExperts(stacked, byExpert, cfg.ExpertsForLayer(0))
		if err != nil {
			return nil, nil, fmt.Errorf("import hf: %w", err)
		}
		out[stacked] = t
	}
	return cfg, out, nil
}

func configFromHF(hc *hfConfig) (*configs.Config, error) {
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
	if hc.NumAttentionHeads > 0 && hc.HeadDim != 0 && hc.HeadDim*hc.NumAttentionHeads != hc.HiddenSize {
		return nil, fmt.Errorf("head_dim %d * num_attention_heads %d != hidden_size %d, which moetrain's attention needs", hc.HeadDim, hc.NumAttentionHeads, hc.HiddenSize)
	}
	if hc.HiddenAct != "" && hc.HiddenAct != "silu" {
		return nil, fmt.Errorf("hidden_act %q: moetrain's MLPs are SwiGLU (silu)", hc.HiddenAct)
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
	default:
		return nil, fmt.Errorf("model_type %q: moetrain imports \"mixtral\" and \"llama\"", hc.ModelType)
	}
	if c.Train.SeqLen > m.MaxSeqLen {
		c.Train.SeqLen = m.MaxSeqLen
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
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
		for j := 0; j < inner; j++ {
			out.Set(i*inner+j, t.At(j))
		}
	}
	return out, nil
}
