package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// peftAdaptable are the per-layer moetrain modules a PEFT key may adapt:
// those with a HuggingFace equivalent that the layers package puts
// adapters on (routed experts aside).
var peftAdaptable = []string{
	"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	"mlp.w1", "mlp.w2", "mlp.w3", "moe.gate",
}

// adapterHalf is one lora_A or lora_B tensor read from a PEFT file.
type adapterHalf struct {
	key string           // the file's key
	t   *autograd.Tensor // float32, [R, In] (A) or [Out, R] (B)
}

// adapterPair is both halves of one PEFT module's adapter.
type adapterPair [2]*adapterHalf

// LoadAdapter reads a PEFT LoRA adapter directory (adapter_config.json and
// adapter_model.safetensors, as SaveAdapter writes it or PEFT saves it for
// a Mixtral or Llama model) and returns its configuration and the adapters
// by moetrain name ("layers.0.self_attn.q_proj.lora_A" [R, In], ".lora_B"
// [Out, R]; routed experts restacked to "layers.L.moe.experts.w1.lora_A"
// [E, R, In] and ".lora_B" [E, Out, R]), float32, ready for the layers
// package's SetAdapters after AttachLoRA with the same configuration.
//
// Targets are the sorted leaf names of the adapted modules. A file written
// by SaveAdapter for rsLoRA (use_rslora false, the folded alpha, and the
// original alpha in its metadata) reads back as RSLoRA with that alpha; so
// does a PEFT file with use_rslora true. Should the metadata disagree with
// lora_alpha, lora_alpha wins, as it does for every other reader.
//
// Refused, with the file and key named: a peft_type other than LORA, bias
// other than "none", fan_in_fan_out, DoRA, modules_to_save, per-module rank
// or alpha patterns, a key that is not base_model.model.<module>.lora_A
// .weight / .lora_B.weight of an adaptable Mixtral/Llama module, a rank
// other than r, half of a pair, experts missing from a stack or a stack
// with another expert count than the others, non-float or non-finite
// values. Tensor memory is bounded by the file's size: the safetensors
// reader checks every shape against the bytes present before allocating.
func LoadAdapter(dir string) (AdapterConfig, map[string]*autograd.Tensor, error) {
	fail := func(err error) (AdapterConfig, map[string]*autograd.Tensor, error) {
		return AdapterConfig{}, nil, fmt.Errorf("load adapter %s: %w", dir, err)
	}
	cfg, targets, err := readAdapterConfig(filepath.Join(dir, PEFTConfigFile))
	if err != nil {
		return fail(err)
	}
	path := filepath.Join(dir, PEFTWeightsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, berr := os.Stat(filepath.Join(dir, "adapter_model.bin")); berr == nil {
			return fail(fmt.Errorf("%s is missing and adapter_model.bin (a PyTorch pickle) is not read: save the adapter with safe_serialization=True", path))
		}
	}
	tensors, meta, err := ReadSafetensors(path)
	if err != nil {
		return fail(err)
	}
	plain, experts, leaves, err := groupAdapterKeys(tensors, cfg.Rank, targets)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	if len(plain)+len(experts) == 0 {
		return fail(fmt.Errorf("%s holds no adapter tensors", path))
	}
	out := map[string]*autograd.Tensor{}
	for _, module := range sortedKeys(plain) {
		p := plain[module]
		if err := p.complete(); err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
		out[module+".lora_A"], out[module+".lora_B"] = p[0].t, p[1].t
	}
	if err := restackExperts(experts, out); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	for name, t := range out {
		t.Name = name
	}
	cfg.Targets = sortedKeys(leaves)
	cfg.Alpha, cfg.RSLoRA = unfoldRSLoRA(cfg, meta)
	return cfg, out, nil
}

// unfoldRSLoRA returns the alpha and rsLoRA flag cfg's file means: its own
// when use_rslora is set or the file carries no folded alpha; the original
// alpha and RSLoRA when SaveAdapter folded it and lora_alpha still equals
// that alpha times sqrt(r).
func unfoldRSLoRA(cfg AdapterConfig, meta map[string]string) (float64, bool) {
	s, ok := meta[peftRSLoRAAlphaKey]
	if cfg.RSLoRA || !ok {
		return cfg.Alpha, cfg.RSLoRA
	}
	a, err := strconv.ParseFloat(s, 64)
	if err != nil || !(a > 0) || math.IsInf(a, 0) {
		return cfg.Alpha, false
	}
	if f := foldedAlpha(a, cfg.Rank); math.Abs(f-cfg.Alpha) > 1e-9*cfg.Alpha {
		return cfg.Alpha, false
	}
	return a, true
}

// groupAdapterKeys checks every key and sorts the tensors into pairs of
// 2-D modules and of stacked experts, by moetrain module name. leaves are
// the adapted modules' HuggingFace leaf names (a dense MLP's w1 is
// gate_proj).
func groupAdapterKeys(tensors map[string]*autograd.Tensor, r int, targets []string) (plain map[string]*adapterPair, experts map[string]map[int]*adapterPair, leaves map[string]bool, err error) {
	plain, experts, leaves = map[string]*adapterPair{}, map[string]map[int]*adapterPair{}, map[string]bool{}
	for _, key := range sortedKeys(tensors) {
		path, side, module, expert, err := parsePEFTKey(key)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("key %q: %w", key, err)
		}
		if targets != nil && !peftTargeted(path, targets) {
			return nil, nil, nil, fmt.Errorf("key %q: module %s is not in target_modules %v", key, path, targets)
		}
		t := tensors[key]
		if t.DType() != autograd.Float32 {
			t = autograd.ToFloat32(t)
		}
		if err := checkAdapterHalf(t, side, r); err != nil {
			return nil, nil, nil, fmt.Errorf("key %q: %w", key, err)
		}
		leaves[peftLeaf(path)] = true
		var p *adapterPair
		if expert < 0 {
			if plain[module] == nil {
				plain[module] = &adapterPair{}
			}
			p = plain[module]
		} else {
			if experts[module] == nil {
				experts[module] = map[int]*adapterPair{}
			}
			if experts[module][expert] == nil {
				experts[module][expert] = &adapterPair{}
			}
			p = experts[module][expert]
		}
		p[side] = &adapterHalf{key: key, t: t}
	}
	return plain, experts, leaves, nil
}

// checkAdapterHalf checks one tensor: 2-D, rank r on the right axis (A
// [R, In], B [Out, R]) and finite.
func checkAdapterHalf(t *autograd.Tensor, side, r int) error {
	sh := t.Shape()
	if len(sh) != 2 || sh[0] < 1 || sh[1] < 1 {
		return fmt.Errorf("shape %v: a LoRA %s is a non-empty matrix, %s", sh, []string{"A", "B"}[side], []string{"[r, in]", "[out, r]"}[side])
	}
	if got := sh[side]; got != r {
		return fmt.Errorf("shape %v has rank %d, but adapter_config.json says r = %d: every module's rank must be r", sh, got, r)
	}
	if i := firstNonFinite(t); i >= 0 {
		return fmt.Errorf("element %d is %v: adapter values must be finite", i, t.At(i))
	}
	return nil
}

// parsePEFTKey splits base_model.model.<path>.lora_{A,B}.weight into the
// HuggingFace module path, the side (0 for A, 1 for B) and the moetrain
// module: a 2-D module ("layers.0.self_attn.q_proj", expert -1) or a
// routed expert stack ("layers.1.moe.experts.w1") and the expert. Only
// canonical names are accepted: the moetrain module maps back to path.
func parsePEFTKey(key string) (path string, side int, module string, expert int, err error) {
	rest, ok := strings.CutPrefix(key, peftKeyPrefix)
	if !ok {
		return "", 0, "", 0, fmt.Errorf("not a PEFT adapter key of a causal LM: keys start with %q", peftKeyPrefix)
	}
	switch {
	case strings.HasSuffix(rest, ".lora_A.weight"):
		path, side = strings.TrimSuffix(rest, ".lora_A.weight"), 0
	case strings.HasSuffix(rest, ".lora_B.weight"):
		path, side = strings.TrimSuffix(rest, ".lora_B.weight"), 1
	case strings.Contains(rest, "lora_magnitude_vector"):
		return "", 0, "", 0, errors.New("a DoRA magnitude vector: moetrain does not apply DoRA")
	case strings.Contains(rest, "lora_embedding_"):
		return "", 0, "", 0, errors.New("an embedding adapter: moetrain adapts linear weights only")
	default:
		return "", 0, "", 0, errors.New("not a LoRA tensor: moetrain reads <module>.lora_A.weight and <module>.lora_B.weight")
	}
	if stacked, e, ok := parseHFExpert(path + ".weight"); ok && e >= 0 && peftExpertPath(stacked, e) == path {
		if layer, _ := splitExpertName(stacked); layer >= 0 {
			return path, side, stacked, e, nil
		}
	}
	if ours, ok := ourName(path + ".weight"); ok {
		m := strings.TrimSuffix(ours, ".weight")
		if back, err := peftPlainPath(m); err == nil && back == path && adaptable(m) {
			return path, side, m, -1, nil
		}
	}
	return "", 0, "", 0, fmt.Errorf("module %s is not an adaptable module of a Mixtral/Llama model (attention q/k/v/o_proj, mlp gate/up/down_proj, block_sparse_moe.gate or experts.<e>.w1/w2/w3)", path)
}

// adaptable reports whether moetrain module m ("layers.0.mlp.w1") is one
// the layers package adapts and HuggingFace names.
func adaptable(m string) bool {
	var layer int
	if n, _ := fmt.Sscanf(m, "layers.%d.", &layer); n != 1 || layer < 0 {
		return false
	}
	return slices.Contains(peftAdaptable, strings.TrimPrefix(m, fmt.Sprintf("layers.%d.", layer)))
}

// complete checks that both halves are present and agree on the rank.
func (p *adapterPair) complete() error {
	switch {
	case p[0] == nil:
		return fmt.Errorf("key %q has no lora_A (%q): every adapter needs both halves", p[1].key, strings.Replace(p[1].key, ".lora_B.", ".lora_A.", 1))
	case p[1] == nil:
		return fmt.Errorf("key %q has no lora_B (%q): every adapter needs both halves", p[0].key, strings.Replace(p[0].key, ".lora_A.", ".lora_B.", 1))
	}
	return nil
}

// restackExperts stacks each routed expert module's per-expert pairs into
// [E, R, In] and [E, Out, R] adapters in out. Every stack must hold experts
// 0..E-1, each complete and shaped like expert 0, with one E for all
// stacks (Mixtral has one expert count).
func restackExperts(experts map[string]map[int]*adapterPair, out map[string]*autograd.Tensor) error {
	count, first := 0, ""
	for _, module := range sortedKeys(experts) {
		byExpert := experts[module]
		e := len(byExpert)
		for i := range e {
			if byExpert[i] == nil {
				return fmt.Errorf("no adapter for expert %d (%s) although %d experts of that stack have one, up to expert %d: every expert needs its adapter",
					i, peftKeyPrefix+peftExpertPath(module, i)+".lora_A.weight", e, maxKey(byExpert))
			}
			if err := byExpert[i].complete(); err != nil {
				return err
			}
		}
		if first == "" {
			count, first = e, module
		} else if e != count {
			return fmt.Errorf("%s has adapters for %d experts, %s for %d: a Mixtral model has one expert count, and every expert needs its adapter",
				hfStack(module), e, hfStack(first), count)
		}
		for side, suffix := range []string{".lora_A", ".lora_B"} {
			t, err := stackHalves(byExpert, side)
			if err != nil {
				return err
			}
			out[module+suffix] = t
		}
	}
	return nil
}

// hfStack names a routed expert stack's modules in the file
// ("model.layers.1.block_sparse_moe.experts.*.w2").
func hfStack(stacked string) string {
	layer, w := splitExpertName(stacked)
	return fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.*.%s", layer, w)
}

// maxKey returns m's largest key.
func maxKey[V any](m map[int]V) int {
	best := math.MinInt
	for k := range m {
		best = max(best, k)
	}
	return best
}

// stackHalves stacks side (0: A, 1: B) of experts 0..E-1 into one [E, X, Y]
// tensor, each expert shaped like expert 0.
func stackHalves(byExpert map[int]*adapterPair, side int) (*autograd.Tensor, error) {
	e := len(byExpert)
	first := byExpert[0][side].t
	out := autograd.New(autograd.Float32, append([]int{e}, first.Shape()...)...)
	inner := first.Len()
	dst := out.F32()
	for i := range e {
		h := byExpert[i][side]
		if !slices.Equal(h.t.Shape(), first.Shape()) {
			return nil, fmt.Errorf("key %q has shape %v, expert 0's %q %v: every expert of a stack has one shape",
				h.key, h.t.Shape(), byExpert[0][side].key, first.Shape())
		}
		copy(dst[i*inner:(i+1)*inner], h.t.F32())
	}
	return out, nil
}
