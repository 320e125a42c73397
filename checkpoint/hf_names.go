package checkpoint

import (
	"fmt"
	"strings"
)

// hfLayerNames maps the per-layer tensor names moetrain uses to HuggingFace
// names (Mixtral and Llama share attention and norm names).
var hfLayerNames = map[string]string{
	"input_layernorm.weight":          "input_layernorm.weight",
	"post_attention_layernorm.weight": "post_attention_layernorm.weight",
	"self_attn.q_proj.weight":         "self_attn.q_proj.weight",
	"self_attn.k_proj.weight":         "self_attn.k_proj.weight",
	"self_attn.v_proj.weight":         "self_attn.v_proj.weight",
	"self_attn.o_proj.weight":         "self_attn.o_proj.weight",
	"mlp.w1.weight":                   "mlp.gate_proj.weight", // Llama: gate
	"mlp.w3.weight":                   "mlp.up_proj.weight",   // Llama: up
	"mlp.w2.weight":                   "mlp.down_proj.weight", // Llama: down
	"moe.gate.weight":                 "block_sparse_moe.gate.weight",
}

// hfExpertWeights are the stacked expert tensors [E, ., .] that HuggingFace
// Mixtral stores one per expert: block_sparse_moe.experts.<e>.<w>.weight.
var hfExpertWeights = []string{"w1", "w2", "w3"}

// hfName returns the HuggingFace name of a moetrain tensor that maps one to one.
func hfName(name string) (string, error) {
	switch name {
	case "embed_tokens.weight":
		return "model.embed_tokens.weight", nil
	case "norm.weight":
		return "model.norm.weight", nil
	case "lm_head.weight":
		return "lm_head.weight", nil
	}
	var layer int
	var rest string
	if n, _ := fmt.Sscanf(name, "layers.%d.", &layer); n == 1 {
		rest = strings.TrimPrefix(name, fmt.Sprintf("layers.%d.", layer))
		if hf, ok := hfLayerNames[rest]; ok {
			return fmt.Sprintf("model.layers.%d.%s", layer, hf), nil
		}
	}
	return "", fmt.Errorf("tensor %q has no HuggingFace equivalent", name)
}

// ourName is the inverse of hfName.
func ourName(hf string) (string, bool) {
	switch hf {
	case "model.embed_tokens.weight":
		return "embed_tokens.weight", true
	case "model.norm.weight":
		return "norm.weight", true
	case "lm_head.weight":
		return "lm_head.weight", true
	}
	var layer int
	if n, _ := fmt.Sscanf(hf, "model.layers.%d.", &layer); n == 1 {
		rest := strings.TrimPrefix(hf, fmt.Sprintf("model.layers.%d.", layer))
		for ours, theirs := range hfLayerNames {
			if theirs == rest {
				return fmt.Sprintf("layers.%d.%s", layer, ours), true
			}
		}
	}
	return "", false
}
