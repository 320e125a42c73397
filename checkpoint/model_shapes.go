package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moetrain/moetrain/configs"
)

// eachModelTensor calls fn with the name and shape of every core tensor the
// model c describes would hold, in model order: embed_tokens [V, D]; per
// layer the two norms [D], attention q/k/v/o ([H*dh, D], [KV*dh, D] twice,
// [D, H*dh]), then a dense MLP (w1, w3 [F, D], w2 [D, F]) or an MoE layer
// (gate [E, D], stacked experts w1, w3 [E, Fe, D] and w2 [E, D, Fe], shared
// experts [S*Fe, D] / [D, S*Fe]); norm [D]; lm_head [V, D] unless tied. Router
// types' own extra parameters are not listed. It stops when fn returns false
// and allocates nothing proportional to the weights. An expert list shorter
// than the MoE layers is an error naming moe.num_experts.
func eachModelTensor(c *configs.Config, fn func(name string, shape []int) bool) error {
	m := c.Model
	d, v := m.DModel, m.VocabSize
	heads, kv := m.NHeads, m.NKVHeads
	if kv == 0 {
		kv = heads
	}
	dh := 0
	if heads > 0 {
		dh = d / heads
	}
	if !fn("embed_tokens.weight", []int{v, d}) {
		return nil
	}
	moeLayers := c.MoELayers()
	fe, shared := c.MoE.ExpertFFNHiddenSize, c.MoE.SharedExperts
	j := 0 // index among the MoE layers, for a per-layer expert list
	for i, isMoE := range moeLayers {
		p := fmt.Sprintf("layers.%d.", i)
		ts := []struct {
			name  string
			shape []int
		}{
			{"input_layernorm.weight", []int{d}},
			{"self_attn.q_proj.weight", []int{heads * dh, d}},
			{"self_attn.k_proj.weight", []int{kv * dh, d}},
			{"self_attn.v_proj.weight", []int{kv * dh, d}},
			{"self_attn.o_proj.weight", []int{d, heads * dh}},
			{"post_attention_layernorm.weight", []int{d}},
		}
		if !isMoE {
			f := m.FFNHiddenSize
			ts = append(ts, []struct {
				name  string
				shape []int
			}{{"mlp.w1.weight", []int{f, d}}, {"mlp.w3.weight", []int{f, d}}, {"mlp.w2.weight", []int{d, f}}}...)
		} else {
			e := c.MoE.NumExperts.All
			if c.MoE.NumExperts.IsList() {
				if j >= len(c.MoE.NumExperts.PerLayer) {
					return fmt.Errorf("moe.num_experts lists %d counts, too few for MoE layer %d", len(c.MoE.NumExperts.PerLayer), i)
				}
				e = c.MoE.NumExperts.PerLayer[j]
			}
			j++
			ts = append(ts, []struct {
				name  string
				shape []int
			}{
				{"moe.gate.weight", []int{e, d}},
				{"moe.experts.w1", []int{e, fe, d}}, {"moe.experts.w3", []int{e, fe, d}}, {"moe.experts.w2", []int{e, d, fe}},
			}...)
			if shared > 0 {
				ts = append(ts, []struct {
					name  string
					shape []int
				}{
					{"moe.shared_experts.w1.weight", []int{shared * fe, d}}, {"moe.shared_experts.w3.weight", []int{shared * fe, d}},
					{"moe.shared_experts.w2.weight", []int{d, shared * fe}},
				}...)
			}
		}
		for _, t := range ts {
			if !fn(p+t.name, t.shape) {
				return nil
			}
		}
	}
	if !fn("norm.weight", []int{d}) {
		return nil
	}
	if !m.TieEmbeddings {
		fn("lm_head.weight", []int{v, d})
	}
	return nil
}

// minTensorsPerLayer is the fewest core tensors one layer holds (two norms,
// four attention projections, three FFN weights).
const minTensorsPerLayer = 9

// CheckModelShapes compares the core tensors the configuration c describes
// with the shapes a file holds (have, by moetrain name, e.g. from its
// safetensors header) before any model is built, so that a configuration
// claiming far larger dimensions than the file backs is refused instead of
// allocated. Every core tensor must be in have with exactly its shape;
// names have holds beyond them are not checked here. The error names file,
// the first tensors that differ and how many more do, and says what to do.
func CheckModelShapes(c *configs.Config, have map[string][]int, file string) error {
	if c.Model.NLayers < 0 || c.Model.NLayers > len(have)/minTensorsPerLayer {
		return fmt.Errorf("%s: the configuration's model.n_layers = %d needs at least %d tensors, the file holds %d; the file and its configuration do not belong together",
			file, c.Model.NLayers, minTensorsPerLayer*max(c.Model.NLayers, 0)+3, len(have))
	}
	var bad []string
	n := 0
	err := eachModelTensor(c, func(name string, shape []int) bool {
		got, ok := have[name]
		switch {
		case !ok:
			n++
			if len(bad) < maxNamed {
				bad = append(bad, fmt.Sprintf("%q %v missing", name, shape))
			}
		case !slices.Equal(got, shape):
			n++
			if len(bad) < maxNamed {
				bad = append(bad, fmt.Sprintf("%q is %v, the configuration needs %v", name, got, shape))
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%s: configuration: %w", file, err)
	}
	if n == 0 {
		return nil
	}
	msg := strings.Join(bad, "; ")
	if n > len(bad) {
		msg += fmt.Sprintf("; and %d more", n-len(bad))
	}
	return fmt.Errorf("%s: the tensors do not match the model its configuration describes: %s; the file and its configuration do not belong together (or one is damaged)", file, msg)
}

// TensorShapes returns each tensor's shape by name.
func TensorShapes[T interface{ Shape() []int }](ts map[string]T) map[string][]int {
	out := make(map[string][]int, len(ts))
	for name, t := range ts {
		out[name] = t.Shape()
	}
	return out
}
