package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moetrain/moetrain/configs"
)

// hfStored is one tensor record of an HF directory: its shape and the file
// that holds it.
type hfStored struct {
	shape []int
	file  string
}

// readHFHeaders reads the headers (no tensor data) of files and returns
// every tensor by HuggingFace name. A name stored in two files is an error
// naming both, since which one to use would be a guess.
func readHFHeaders(files []string) (map[string]hfStored, error) {
	out := map[string]hfStored{}
	for _, f := range files {
		h, err := readHeaderFile(f)
		if err != nil {
			return nil, err
		}
		for _, t := range h.tensors {
			if prev, dup := out[t.name]; dup {
				return nil, fmt.Errorf("tensor %q is stored in both %s and %s; remove the stray file (or the duplicate tensor) so that each tensor is stored once", t.name, prev.file, f)
			}
			out[t.name] = hfStored{shape: t.shape, file: f}
		}
	}
	return out, nil
}

// hfExpected returns the HuggingFace names and shapes of the tensors the
// configuration c (imported from config.json) describes, experts one per
// expert as Mixtral stores them. It gives up, returning ok false, once more
// than limit tensors are described: a config.json claiming more than the
// files hold is refused without listing what it claims.
func hfExpected(c *configs.Config, limit int) (want map[string][]int, ok bool, err error) {
	want = map[string][]int{}
	ok = true
	err = eachModelTensor(c, func(name string, shape []int) bool {
		if isStackedExpert(name) {
			layer, w := splitExpertName(name)
			if shape[0] > limit-len(want) {
				ok = false
				return false
			}
			for e := 0; e < shape[0]; e++ {
				want[fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.%s.weight", layer, e, w)] = shape[1:]
			}
		} else {
			hf, herr := hfName(name)
			if herr != nil {
				ok = false
				return false
			}
			want[hf] = shape
		}
		if len(want) > limit {
			ok = false
		}
		return ok
	})
	return want, ok, err
}

// checkHFHeaders compares the tensors stored (by HuggingFace name) with the
// model config.json describes, before any tensor data is read or any model
// built: every tensor must be present with exactly the shape the config
// implies (an expert stored transposed is refused, though its element count
// fits), and every stored tensor must belong to the model. Errors name the
// tensor, its file and the config.json fields to check; lists are capped.
func checkHFHeaders(c *configs.Config, stored map[string]hfStored, configPath string) error {
	if c.Model.NLayers > len(stored)/minTensorsPerLayer {
		return fmt.Errorf("%s: num_hidden_layers = %d needs at least %d tensors, the safetensors files hold %d; correct config.json or add the missing files",
			configPath, c.Model.NLayers, minTensorsPerLayer*c.Model.NLayers+3, len(stored))
	}
	want, ok, err := hfExpected(c, len(stored))
	if err != nil {
		return fmt.Errorf("%s: %w", configPath, err)
	}
	if !ok {
		return fmt.Errorf("%s: describes more tensors than the %d the safetensors files hold (num_hidden_layers, num_local_experts); correct config.json or add the missing files", configPath, len(stored))
	}
	var wrong, missing, extra []string
	nWrong, nMissing, nExtra := 0, 0, 0
	for _, name := range sortedKeys(want) {
		s, ok := stored[name]
		switch {
		case !ok:
			nMissing++
			if len(missing) < maxNamed {
				missing = append(missing, fmt.Sprintf("%q %v", name, want[name]))
			}
		case !slices.Equal(s.shape, want[name]):
			nWrong++
			if len(wrong) < maxNamed {
				hint := ""
				if len(s.shape) == 2 && len(want[name]) == 2 && s.shape[0] == want[name][1] && s.shape[1] == want[name][0] {
					hint = " (stored transposed?)"
				}
				wrong = append(wrong, fmt.Sprintf("%q in %s has shape %v, config.json implies %v%s", name, s.file, s.shape, want[name], hint))
			}
		}
	}
	for _, name := range sortedKeys(stored) {
		if _, ok := want[name]; ok || strings.Contains(name, "rotary_emb") {
			continue // rotary buffers some exports include are recomputed
		}
		nExtra++
		if len(extra) < maxNamed {
			extra = append(extra, fmt.Sprintf("%q in %s", name, stored[name].file))
		}
	}
	var problems []string
	if nWrong > 0 {
		problems = append(problems, "shape mismatch: "+joinCapped(wrong, nWrong))
	}
	if nMissing > 0 {
		problems = append(problems, "missing: "+joinCapped(missing, nMissing))
	}
	if nExtra > 0 {
		problems = append(problems, "not part of the model config.json describes: "+joinCapped(extra, nExtra))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s and its safetensors files do not match: %s; check hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, vocab_size, num_local_experts and tie_word_embeddings, or replace the damaged files",
		configPath, strings.Join(problems, "; "))
}
