package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// PEFT adapter directory file names.
const (
	PEFTConfigFile  = "adapter_config.json"
	PEFTWeightsFile = "adapter_model.safetensors"
)

// peftKeyPrefix starts every tensor key of a PEFT adapter of a causal LM:
// the PeftModel wrapper ("base_model") around the LoRA model ("model")
// around the transformers model, whose own names begin with "model.".
const peftKeyPrefix = "base_model.model."

// peftRSLoRAAlphaKey is the safetensors metadata key under which SaveAdapter
// keeps an rsLoRA adapter's own alpha (see SaveAdapter): readers other than
// LoadAdapter ignore it and see a plain LoRA with the folded alpha.
const peftRSLoRAAlphaKey = "moetrain.rslora_alpha"

// LoRA initialisations of A as AdapterConfig.Init names them (the layers
// package's names).
const (
	AdapterInitKaiming  = "kaiming"
	AdapterInitGaussian = "gaussian"
)

// AdapterConfig is what a PEFT adapter directory records about LoRA
// adapters: for every adapted weight W [Out, In] the model computes
// h = W x + s·B(A x) with A [R, In], B [Out, R] and s = Alpha/Rank
// (Alpha/sqrt(Rank) with RSLoRA). It mirrors the layers package's
// LoRAConfig without importing it.
type AdapterConfig struct {
	Rank    int     // R >= 1
	Alpha   float64 // > 0
	Dropout float64 // the training dropout on the adapter's input, in [0, 1)
	// Targets are the adapted modules' HuggingFace leaf names (q_proj,
	// k_proj, v_proj, o_proj, gate, w1, w2, w3, gate_proj, up_proj,
	// down_proj: the layers package's target names). LoadAdapter returns
	// them sorted.
	Targets []string
	RSLoRA  bool   // rank-stabilised scaling
	Init    string // AdapterInitKaiming (also "") or AdapterInitGaussian
	// BaseModel names the base model (base_model_name_or_path); may be "".
	BaseModel string
}

// Scale returns s: Alpha/Rank, or Alpha/sqrt(Rank) with RSLoRA.
func (c AdapterConfig) Scale() float64 {
	if c.RSLoRA {
		return c.Alpha / math.Sqrt(float64(c.Rank))
	}
	return c.Alpha / float64(c.Rank)
}

// validate reports every problem of c, each naming the field and value.
func (c AdapterConfig) validate() error {
	var errs []error
	if c.Rank < 1 {
		errs = append(errs, fmt.Errorf("config Rank %d: must be at least 1", c.Rank))
	}
	if !(c.Alpha > 0) || math.IsInf(c.Alpha, 0) {
		errs = append(errs, fmt.Errorf("config Alpha %v: must be a finite number > 0", c.Alpha))
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		errs = append(errs, fmt.Errorf("config Dropout %v: must be in [0, 1)", c.Dropout))
	}
	if c.Init != "" && c.Init != AdapterInitKaiming && c.Init != AdapterInitGaussian {
		errs = append(errs, fmt.Errorf("config Init %q: must be %q or %q", c.Init, AdapterInitKaiming, AdapterInitGaussian))
	}
	return errors.Join(errs...)
}

// peftConfigOut is adapter_config.json as SaveAdapter writes it: the
// LoraConfig fields every PEFT version since rsLoRA's reads.
type peftConfigOut struct {
	PeftType            string   `json:"peft_type"`
	TaskType            string   `json:"task_type"`
	R                   int      `json:"r"`
	LoraAlpha           float64  `json:"lora_alpha"`
	LoraDropout         float64  `json:"lora_dropout"`
	TargetModules       []string `json:"target_modules"`
	Bias                string   `json:"bias"`
	FanInFanOut         bool     `json:"fan_in_fan_out"`
	UseRSLoRA           bool     `json:"use_rslora"`
	InitLoraWeights     any      `json:"init_lora_weights"` // true (kaiming) or "gaussian"
	InferenceMode       bool     `json:"inference_mode"`
	BaseModelNameOrPath *string  `json:"base_model_name_or_path"`
}

// peftModule is one adapted module of a PEFT file: its HuggingFace module
// path (without the key prefix) and its adapter pair.
type peftModule struct {
	path string           // "model.layers.0.self_attn.q_proj"
	a, b *autograd.Tensor // [R, In], [Out, R]
}

// peftLeaf returns the last component of a module path: the name PEFT's
// target_modules match ("q_proj", "w1").
func peftLeaf(path string) string { return path[strings.LastIndex(path, ".")+1:] }

// peftExpertPath is the HuggingFace Mixtral module of expert e of a
// stacked expert weight "layers.L.moe.experts.wX".
func peftExpertPath(stacked string, e int) string {
	layer, w := splitExpertName(stacked)
	return fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.%s", layer, e, w)
}

// peftPlainPath is the HuggingFace module of a 2-D adapted module
// ("layers.0.mlp.w1" -> "model.layers.0.mlp.gate_proj").
func peftPlainPath(module string) (string, error) {
	hf, err := hfName(module + ".weight")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(hf, ".weight"), nil
}

// peftModules splits moetrain adapters (module + ".lora_A" / ".lora_B", see
// the layers package's Adapters) into PEFT modules, one per expert for a
// stacked expert adapter ([E, R, In] / [E, Out, R]), converted to float32.
// Every adapter must have its pair, rank r and a finite value everywhere.
func peftModules(adapters map[string]*autograd.Tensor, r int) ([]peftModule, error) {
	if len(adapters) == 0 {
		return nil, errors.New("no adapters to save (attach LoRA adapters and train them first)")
	}
	pairs := map[string][2]*autograd.Tensor{}
	for _, name := range sortedKeys(adapters) {
		t := adapters[name]
		module, side, ok := cutAdapterName(name)
		switch {
		case !ok:
			return nil, fmt.Errorf("tensor %q is not a LoRA adapter: adapter names end in .lora_A or .lora_B", name)
		case t == nil:
			return nil, fmt.Errorf("adapter %q is nil", name)
		}
		if i := firstNonFinite(t); i >= 0 {
			return nil, fmt.Errorf("adapter %q holds %v at element %d: a diverged run? save adapters with finite values", name, t.At(i), i)
		}
		p := pairs[module]
		p[side] = t
		pairs[module] = p
	}
	var out []peftModule
	for _, module := range sortedKeys(pairs) {
		p := pairs[module]
		switch {
		case p[0] == nil:
			return nil, fmt.Errorf("adapter %q has no %q: save both halves of every adapter", module+".lora_B", module+".lora_A")
		case p[1] == nil:
			return nil, fmt.Errorf("adapter %q has no %q: save both halves of every adapter", module+".lora_A", module+".lora_B")
		}
		ms, err := splitAdapter(module, p[0], p[1], r)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// cutAdapterName splits "M.lora_A" into (M, 0) and "M.lora_B" into (M, 1).
func cutAdapterName(name string) (module string, side int, ok bool) {
	if m, ok := strings.CutSuffix(name, ".lora_A"); ok && m != "" {
		return m, 0, true
	}
	if m, ok := strings.CutSuffix(name, ".lora_B"); ok && m != "" {
		return m, 1, true
	}
	return "", 0, false
}

// splitAdapter maps one moetrain adapter pair to its PEFT modules, checking
// shapes: A [R, In] and B [Out, R], or per expert [E, R, In] and [E, Out, R].
func splitAdapter(module string, a, b *autograd.Tensor, r int) ([]peftModule, error) {
	an, bn := module+".lora_A", module+".lora_B"
	if isStackedExpert(module) {
		if len(a.Shape()) != 3 || len(b.Shape()) != 3 || a.Dim(0) != b.Dim(0) || a.Dim(0) < 1 {
			return nil, fmt.Errorf("expert adapter %q %v and %q %v: want [E, R, In] and [E, Out, R] with one E >= 1", an, a.Shape(), bn, b.Shape())
		}
		if a.Dim(1) != r || b.Dim(2) != r {
			return nil, fmt.Errorf("expert adapter %q %v / %q %v: rank %d / %d, the configuration's Rank is %d", an, a.Shape(), bn, b.Shape(), a.Dim(1), b.Dim(2), r)
		}
		out := make([]peftModule, a.Dim(0))
		for e := range out {
			out[e] = peftModule{path: peftExpertPath(module, e), a: expertSlice(a, e), b: expertSlice(b, e)}
		}
		return out, nil
	}
	path, err := peftPlainPath(module)
	if err != nil {
		return nil, fmt.Errorf("adapter %q: %w (PEFT files follow the HuggingFace Mixtral/Llama layout, which has no such module)", an, err)
	}
	if len(a.Shape()) != 2 || len(b.Shape()) != 2 {
		return nil, fmt.Errorf("adapter %q %v and %q %v: want [R, In] and [Out, R]", an, a.Shape(), bn, b.Shape())
	}
	if a.Dim(0) != r || b.Dim(1) != r {
		return nil, fmt.Errorf("adapter %q %v / %q %v: rank %d / %d, the configuration's Rank is %d", an, a.Shape(), bn, b.Shape(), a.Dim(0), b.Dim(1), r)
	}
	return []peftModule{{path: path, a: autograd.ToFloat32(a), b: autograd.ToFloat32(b)}}, nil
}

// expertSlice copies expert e of t [E, X, Y] into a float32 [X, Y].
func expertSlice(t *autograd.Tensor, e int) *autograd.Tensor {
	out := autograd.New(autograd.Float32, t.Shape()[1:]...)
	inner := out.Len()
	for j := range inner {
		out.Set(j, t.At(e*inner+j))
	}
	return out
}

// firstNonFinite returns the index of t's first NaN or infinity, or -1.
func firstNonFinite(t *autograd.Tensor) int {
	for i := range t.Len() {
		if v := t.At(i); math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return -1
}

// peftTargets returns the sorted leaf names of modules, and checks them
// against cfg's Targets when it names any.
func peftTargets(modules []peftModule, targets []string) ([]string, error) {
	seen := map[string]bool{}
	for _, m := range modules {
		seen[peftLeaf(m.path)] = true
	}
	leaves := sortedKeys(seen)
	if len(targets) == 0 {
		return leaves, nil
	}
	want := append([]string(nil), targets...)
	sort.Strings(want)
	if strings.Join(want, ",") != strings.Join(leaves, ",") {
		return nil, fmt.Errorf("config Targets %s, but the adapters adapt %s: give the Targets the adapters were attached with",
			strings.Join(want, ","), strings.Join(leaves, ","))
	}
	return leaves, nil
}

// peftConfigJSON is the adapter_config.json SaveAdapter writes for cfg.
func peftConfigJSON(cfg AdapterConfig, targets []string) peftConfigOut {
	pc := peftConfigOut{
		PeftType: "LORA", TaskType: "CAUSAL_LM", R: cfg.Rank, LoraAlpha: cfg.Alpha, LoraDropout: cfg.Dropout,
		TargetModules: targets, Bias: "none", InitLoraWeights: true, InferenceMode: true,
	}
	if cfg.RSLoRA {
		pc.LoraAlpha = foldedAlpha(cfg.Alpha, cfg.Rank)
	}
	if cfg.Init == AdapterInitGaussian {
		pc.InitLoraWeights = AdapterInitGaussian
	}
	if cfg.BaseModel != "" {
		pc.BaseModelNameOrPath = &cfg.BaseModel
	}
	return pc
}

// foldedAlpha is the plain-LoRA alpha with the rsLoRA scale:
// (alpha·sqrt(r))/r = alpha/sqrt(r).
func foldedAlpha(alpha float64, r int) float64 { return alpha * math.Sqrt(float64(r)) }

// peftMeta is the safetensors metadata of an adapter file.
func peftMeta(cfg AdapterConfig) map[string]string {
	meta := map[string]string{"format": "pt"}
	if cfg.RSLoRA {
		meta[peftRSLoRAAlphaKey] = strconv.FormatFloat(cfg.Alpha, 'g', -1, 64)
	}
	return meta
}

// SaveAdapter writes LoRA adapters as a PEFT adapter directory, the form
// PEFT's PeftModel.from_pretrained, vLLM and llama.cpp's
// convert_lora_to_gguf.py read on top of the ExportHF model:
//
//   - dir/adapter_model.safetensors (metadata {"format": "pt"}, float32) maps
//     base_model.model.<module>.lora_A.weight [R, In] and .lora_B.weight
//     [Out, R] for each adapted HuggingFace module (the hfName of the adapted
//     weight without ".weight": model.layers.0.self_attn.q_proj,
//     model.layers.1.mlp.gate_proj, model.layers.1.block_sparse_moe.gate);
//     a routed expert stack's adapters [E, R, In] / [E, Out, R] are written
//     one module per expert (model.layers.1.block_sparse_moe.experts.3.w1).
//   - dir/adapter_config.json: peft_type LORA, task_type CAUSAL_LM, r,
//     lora_alpha, lora_dropout, target_modules (the sorted leaf names of the
//     adapted modules), bias "none", fan_in_fan_out false, use_rslora,
//     init_lora_weights (true for kaiming, "gaussian"), inference_mode true,
//     base_model_name_or_path (null when cfg.BaseModel is "").
//
// adapters are named as the layers package's Adapters names them
// ("layers.0.self_attn.q_proj.lora_A"); every one needs its other half,
// rank cfg.Rank and finite values; cfg.Targets, when not empty, must name
// exactly the adapted leaves. Modules without a HuggingFace equivalent
// (shared experts) are an error, as ExportHF refuses their models.
//
// rsLoRA is folded into alpha: the file says use_rslora false and
// lora_alpha = Alpha·sqrt(R), because (Alpha·sqrt(R))/R = Alpha/sqrt(R), so
// every reader gets the right scale, including those that ignore
// use_rslora. The original Alpha is kept in the safetensors metadata
// (moetrain.rslora_alpha) for LoadAdapter to restore.
//
// lora_dropout records the training dropout: PEFT applies none in
// inference, and a run that continues training the adapter in PEFT then
// uses the same dropout.
//
// Both files are written into a temporary directory beside dir, fsynced,
// and the directory is renamed into place (exchanged atomically with an
// existing dir on Linux), so dir holds either its old contents or both new
// files. An existing dir may hold only the two adapter files, since it is
// replaced whole.
func SaveAdapter(dir string, cfg AdapterConfig, adapters map[string]*autograd.Tensor) error {
	fail := func(err error) error { return fmt.Errorf("save adapter %s: %w", dir, err) }
	if err := cfg.validate(); err != nil {
		return fail(err)
	}
	modules, err := peftModules(adapters, cfg.Rank)
	if err != nil {
		return fail(err)
	}
	targets, err := peftTargets(modules, cfg.Targets)
	if err != nil {
		return fail(err)
	}
	tensors := make(map[string]*autograd.Tensor, 2*len(modules))
	for _, m := range modules {
		tensors[peftKeyPrefix+m.path+".lora_A.weight"] = m.a
		tensors[peftKeyPrefix+m.path+".lora_B.weight"] = m.b
	}
	es, err := tensorEntries(tensors)
	if err != nil {
		return fail(err)
	}
	if err := writeAdapterDir(filepath.Clean(dir), peftConfigJSON(cfg, targets), es, peftMeta(cfg)); err != nil {
		return fail(err)
	}
	return nil
}
