package checkpoint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
)

// HF file names.
const (
	HFConfigFile  = "config.json"
	HFWeightsFile = "model.safetensors"
)

// hfConfig holds the MixtralConfig / LlamaConfig keys moetrain reads and writes.
type hfConfig struct {
	Architectures         []string `json:"architectures"`
	ModelType             string   `json:"model_type"`
	VocabSize             int      `json:"vocab_size"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	RopeTheta             float64  `json:"rope_theta"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	HiddenAct             string   `json:"hidden_act"`
	InitializerRange      float64  `json:"initializer_range"`
	TorchDtype            string   `json:"torch_dtype"`
	AttentionDropout      float64  `json:"attention_dropout"`
	AttentionBias         bool     `json:"attention_bias"`
	// Mixtral only.
	NumLocalExperts   int      `json:"num_local_experts,omitempty"`
	NumExpertsPerTok  int      `json:"num_experts_per_tok,omitempty"`
	RouterAuxLossCoef float64  `json:"router_aux_loss_coef,omitempty"`
	OutputRouterLogit *bool    `json:"output_router_logits,omitempty"`
	SlidingWindow     *int     `json:"sliding_window"`
	RouterJitterNoise *float64 `json:"router_jitter_noise,omitempty"`
}

// hfCompatible explains why a configuration has no exact HuggingFace layout,
// or returns "" when it exports as Mixtral (every layer MoE) or Llama (dense).
func hfCompatible(c *configs.Config) string {
	if c.IsDense() {
		return ""
	}
	if c.NumMoELayers() != c.Model.NLayers {
		return "hybrid dense/MoE stacks (moe.layer_freq) have no Mixtral layout: Mixtral makes every layer MoE"
	}
	e := c.ExpertsForLayer(0)
	for i := 1; i < c.Model.NLayers; i++ {
		if c.ExpertsForLayer(i) != e {
			return "Mixtral has one expert count for all layers; moe.num_experts differs per layer"
		}
	}
	r := c.MoE.Router
	switch {
	case c.MoE.SharedExperts > 0:
		return "Mixtral has no shared experts (moe.shared_experts > 0)"
	case r.Type == configs.RouterSigmoid:
		return "Mixtral routes with softmax; moe.router.type sigmoid would change the model's function"
	case r.ExpertBias:
		return "Mixtral has no expert selection bias (moe.router.expert_bias)"
	case c.MoE.CapacityFactor > 0:
		return "Mixtral never drops tokens; moe.capacity_factor > 0 would give different logits"
	case r.Type == configs.RouterTopKSoftmax && !r.Normalize && !r.PreSoftmax:
		return "Mixtral renormalises the top-k weights; moe.router.normalize is false"
	}
	return ""
}

// ExportHF writes dir/config.json and dir/model.safetensors in HuggingFace's
// Mixtral layout (a dense model as Llama), so that transformers'
// MixtralForCausalLM / LlamaForCausalLM computes the same logits. tensors are
// the model's parameters by moetrain name. Files are written atomically.
func ExportHF(dir string, c *configs.Config, tensors map[string]*autograd.Tensor) error {
	if why := hfCompatible(c); why != "" {
		return fmt.Errorf("export hf: %s", why)
	}
	m := c.Model
	hc := hfConfig{
		VocabSize: m.VocabSize, HiddenSize: m.DModel, IntermediateSize: m.FFNHiddenSize, NumHiddenLayers: m.NLayers,
		NumAttentionHeads: m.NHeads, NumKeyValueHeads: m.NKVHeads, HeadDim: m.DModel / m.NHeads,
		MaxPositionEmbeddings: m.MaxSeqLen, RopeTheta: m.RopeTheta, RMSNormEps: m.NormEps, TieWordEmbeddings: m.TieEmbeddings,
		HiddenAct: "silu", InitializerRange: m.InitStd, TorchDtype: "float32",
		Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama",
	}
	if !c.IsDense() {
		off, zero := false, 0.0
		hc.Architectures, hc.ModelType = []string{"MixtralForCausalLM"}, "mixtral"
		hc.IntermediateSize = c.MoE.ExpertFFNHiddenSize
		hc.NumLocalExperts, hc.NumExpertsPerTok = c.ExpertsForLayer(0), c.MoE.TopK
		hc.RouterAuxLossCoef, hc.OutputRouterLogit, hc.RouterJitterNoise = c.MoE.AuxLossCoeff, &off, &zero
	}
	out := map[string]*autograd.Tensor{}
	for name, t := range tensors {
		if strings.HasSuffix(name, ".moe.gate.expert_bias") {
			continue // zero-effect when expert_bias is off; refused above when on
		}
		if isStackedExpert(name) {
			layer, w := splitExpertName(name)
			e := t.Dim(0)
			inner := t.Len() / e
			for i := 0; i < e; i++ {
				slice := autograd.New(autograd.Float32, t.Shape()[1:]...)
				for j := 0; j < inner; j++ {
					slice.Set(j, t.At(i*inner+j))
				}
				out[fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.%s.weight", layer, i, w)] = slice
			}
			continue
		}
		hf, err := hfName(name)
		if err != nil {
			return fmt.Errorf("export hf: %w", err)
		}
		out[hf] = autograd.ToFloat32(t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export hf: %w", err)
	}
	if err := WriteSafetensors(filepath.Join(dir, HFWeightsFile), out, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("export hf: %w", err)
	}
	b, err := json.MarshalIndent(hc, "", "  ")
	if err != nil {
		return err
	}
	_, err = writeFileAtomic(filepath.Join(dir, HFConfigFile), ".config.json.tmp*", func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("export hf: %w", err)
	}
	return nil
}

func isStackedExpert(name string) bool {
	for _, w := range hfExpertWeights {
		if strings.HasSuffix(name, ".moe.experts."+w) {
			return true
		}
	}
	return false
}

func splitExpertName(name string) (layer int, w string) {
	fmt.Sscanf(name, "layers.%d.", &layer)
	return layer, name[strings.LastIndex(name, ".")+1:]
}
