package configs

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Validate checks every rule on c and returns all failures together as an Errors (nil when c is
// valid). Each FieldError names the key and its value; Source is left empty (Load fills it in).
func (c *Config) Validate() error {
	var v checks
	v.bounds(c)
	if len(v.errs) > 0 {
		return v.errs // the other rules walk the layers and experts; a size beyond its bound is reported alone
	}
	v.model(c)
	v.moe(c)
	v.train(c)
	v.data(c)
	v.parallel(c)
	v.upcycle(c)
	v.lora(c)
	return v.errs.orNil()
}

// checks collects validation failures.
type checks struct{ errs Errors }

// fail records that key, holding value, breaks a rule: msg follows the value ("0" + " must be > 0").
func (v *checks) fail(key string, value any, msg, hint string) {
	s := formatValue(value)
	v.errs = append(v.errs, &FieldError{Key: key, Value: s, Msg: s + " " + msg, Hint: hint})
}

// formatValue writes a value as it would appear in YAML, strings quoted.
func formatValue(value any) string {
	switch x := value.(type) {
	case []string:
		return shownList(len(x), func(i int) string { return x[i] })
	case LayerFreq:
		if x.IsList() {
			return shownList(len(x.Pattern), func(i int) string { return map[bool]string{false: "0", true: "1"}[x.Pattern[i]] })
		}
	case ExpertCount:
		if x.IsList() {
			return shownList(len(x.PerLayer), func(i int) string { return strconv.Itoa(x.PerLayer[i]) })
		}
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.String:
		return strconv.Quote(clip(rv.String()))
	case reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64)
	}
	return clip(fmt.Sprint(value))
}

// atLeast checks key >= lo for an integer key.
func (v *checks) atLeast(key string, x, lo int, hint string) {
	if x < lo {
		v.fail(key, x, fmt.Sprintf("must be at least %d", lo), hint)
	}
}

// positive checks key > 0 for a real key, and that it is finite.
func (v *checks) positive(key string, x float64, hint string) {
	if !(x > 0) || math.IsInf(x, 1) {
		v.fail(key, x, "must be > 0 and finite", hint)
	}
}

// nonNegative checks key >= 0 for a real key, and that it is finite.
func (v *checks) nonNegative(key string, x float64, hint string) {
	if !(x >= 0) || math.IsInf(x, 1) {
		v.fail(key, x, "must be >= 0 and finite", hint)
	}
}

// fraction checks key in [0, 1).
func (v *checks) fraction(key string, x float64, hint string) {
	if !(x >= 0 && x < 1) {
		v.fail(key, x, "must be in [0, 1)", hint)
	}
}

// oneOf checks that an enumerated key holds one of its values and reports whether it does.
func (v *checks) oneOf(key string, s string) bool {
	allowed := enumValues[key]
	if slices.Contains(allowed, s) {
		return true
	}
	hint := "choose one of them"
	if sug := suggestValue(s, allowed); sug != "" {
		hint = fmt.Sprintf("did you mean %q?", sug)
	}
	v.fail(key, s, "is not one of "+strings.Join(allowed, ", "), hint)
	return false
}

// suggestValue returns the allowed value closest to s, or "".
func suggestValue(s string, allowed []string) string {
	low := strings.ToLower(strings.TrimSpace(s))
	for _, a := range allowed {
		if low != "" && (low == a || strings.HasPrefix(a, low)) {
			return a
		}
	}
	return closest(low, allowed, max(2, len(low)/3))
}

// entries writes "1 entry" or "n entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func (v *checks) model(c *Config) {
	m := c.Model
	v.atLeast("model.vocab_size", m.VocabSize, 2, "a model needs at least 2 token ids")
	if c.Data.Tokenizer == ByteTokenizer && m.VocabSize >= 2 && m.VocabSize < 256 {
		v.fail("model.vocab_size", m.VocabSize, "is too small for the byte tokenizer, which needs 256 ids",
			"set model.vocab_size=256, or data.tokenizer to a tokenizer.json of this size")
	}
	v.atLeast("model.d_model", m.DModel, 1, "give the model width, e.g. 128")
	v.atLeast("model.n_layers", m.NLayers, 1, "give the number of transformer blocks, e.g. 4")
	v.atLeast("model.n_heads", m.NHeads, 1, "give the number of attention heads, e.g. 4")
	v.atLeast("model.n_kv_heads", m.NKVHeads, 1, "use model.n_heads for full multi-head attention")
	if m.DModel >= 1 && m.NHeads >= 1 {
		if m.DModel%m.NHeads != 0 {
			v.fail("model.d_model", m.DModel, fmt.Sprintf("is not divisible by model.n_heads = %d", m.NHeads),
				"make d_model a multiple of n_heads")
		} else if m.HeadDim()%2 != 0 {
			v.fail("model.d_model", m.DModel, fmt.Sprintf("gives an odd head width d_model/n_heads = %d, but RoPE rotates pairs",
				m.HeadDim()), "choose d_model and n_heads so that d_model/n_heads is even")
		}
	}
	if m.NHeads >= 1 && m.NKVHeads >= 1 && m.NHeads%m.NKVHeads != 0 {
		v.fail("model.n_kv_heads", m.NKVHeads, fmt.Sprintf("does not divide model.n_heads = %d", m.NHeads),
			"each key/value head serves n_heads/n_kv_heads query heads; use a divisor of n_heads")
	}
	if c.NumMoELayers() < max(m.NLayers, 0) {
		v.atLeast("model.ffn_hidden_size", m.FFNHiddenSize, 1, "dense layers need the width of their MLP")
	} else {
		v.atLeast("model.ffn_hidden_size", m.FFNHiddenSize, 0, "use 0 when every layer is MoE")
	}
	v.atLeast("model.max_seq_len", m.MaxSeqLen, 1, "give the longest sequence the model will see, e.g. 1024")
	v.positive("model.rope_theta", m.RopeTheta, "the usual value is 10000")
	v.positive("model.norm_eps", m.NormEps, "the usual value is 1e-5")
	v.positive("model.init_std", m.InitStd, "the usual value is 0.02")
}

func (v *checks) moe(c *Config) {
	e := c.MoE
	nLayers := max(c.Model.NLayers, 0)
	if e.LayerFreq.IsList() {
		if len(e.LayerFreq.Pattern) != nLayers {
			v.fail("moe.layer_freq", e.LayerFreq, fmt.Sprintf("has %s but model.n_layers = %d",
				entries(len(e.LayerFreq.Pattern)), nLayers), "give one 0/1 entry per layer")
		}
	} else {
		v.atLeast("moe.layer_freq", e.LayerFreq.Every, 0, "use 1 for all MoE layers, N for every N-th layer, 0 for none")
	}
	nMoE := c.NumMoELayers()
	minE := 0
	if e.NumExperts.IsList() {
		if len(e.NumExperts.PerLayer) != nMoE {
			v.fail("moe.num_experts", e.NumExperts, fmt.Sprintf("has %s but moe.layer_freq makes %d MoE layers",
				entries(len(e.NumExperts.PerLayer)), nMoE), "give one count per MoE layer, or a single integer")
		}
		for j, n := range e.NumExperts.PerLayer {
			if n < 1 {
				v.fail("moe.num_experts", e.NumExperts, fmt.Sprintf("has %d experts in entry %d", n, j),
					"every MoE layer needs at least 1 expert; make a layer dense with moe.layer_freq")
				break
			}
			if j == 0 || n < minE {
				minE = n
			}
		}
	} else {
		v.atLeast("moe.num_experts", e.NumExperts.All, 0, "use 0 for a dense model")
		minE = e.NumExperts.All
	}
	if nMoE > 0 && minE >= 1 {
		if e.TopK < 1 || e.TopK > minE {
			v.fail("moe.top_k", e.TopK, fmt.Sprintf("must be in [1, %d], the fewest experts of any MoE layer", minE),
				"route each token to at least 1 and at most num_experts experts")
		}
		v.atLeast("moe.expert_ffn_hidden_size", e.ExpertFFNHiddenSize, 1, "give the hidden width of one expert")
	}
	v.atLeast("moe.shared_experts", e.SharedExperts, 0, "use 0 for no shared expert")
	v.nonNegative("moe.capacity_factor", e.CapacityFactor, "use 0 for dropless routing")
	v.nonNegative("moe.aux_loss_coeff", e.AuxLossCoeff, "use 0 to switch the loss off")
	v.nonNegative("moe.z_loss_coeff", e.ZLossCoeff, "use 0 to switch the loss off")
	v.oneOf("moe.load_balancing_type", string(e.LoadBalancingType))
	v.router(c)
}
