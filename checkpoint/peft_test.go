package checkpoint

// PEFT adapter files (peft.go, peft_dir.go, peft_read.go, peft_config_read.go).
// Mutations caught (each tried once and watched to fail):
//   - expertSlice copying expert 0 for every expert: TestAdapterFileByHand
//     (values), TestAdapterRoundTrip, TestPEFTCheckMatchesModel.
//   - stackHalves writing every expert at slot 0: TestAdapterRoundTrip.
//   - lora_alpha written unfolded for rsLoRA: TestAdapterRSLoRA,
//     TestPEFTCheckMatchesModel.
//   - unfoldRSLoRA ignoring the metadata: TestAdapterRoundTrip (rslora cases).
//   - unfoldRSLoRA trusting metadata that lora_alpha contradicts:
//     TestAdapterRSLoRA.
//   - target_modules written as cfg.Targets gives them (unsorted):
//     TestAdapterFileByHand.
//   - the metadata without "format": "pt": TestAdapterFileByHand.
//   - peftModules' missing-lora_B check removed: TestSaveAdapterRefuses
//     (panics on the nil half).
//   - checkAdapterDir removed: TestSaveAdapterReplaces (the other file is
//     deleted).
//   - removeAdapterDebris not called: TestSaveAdapterReplaces.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// Dimensions of the test models.
const (
	pV, pD, pL, pH, pKV, pF, pE, pFE = 256, 16, 2, 4, 2, 24, 4, 12
	pDh                              = pD / pH
)

// peftModelConfig is a small model ExportHF accepts: Mixtral-shaped (every
// layer MoE, softmax top-2 renormalised, no shared experts) or, with
// moe false, Llama-shaped.
func peftModelConfig(moe bool) layers.Config {
	c := layers.Config{
		Vocab: pV, DModel: pD, Layers: pL, Heads: pH, KVHeads: pKV, FFNHidden: pF, MaxSeqLen: 32,
		RopeTheta: 10000, NormEps: 1e-5, InitStd: 0.2,
	}
	if moe {
		c.MoELayers, c.Experts, c.ExpertFFN = []bool{true, true}, []int{pE, pE}, pFE
		c.Router = router.Config{TopK: 2, Type: router.TopKSoftmax, Normalize: true}
	}
	return c
}

// moeTargets and denseTargets are every target of each model that has a
// HuggingFace equivalent.
var (
	moeTargets   = []string{layers.TargetQ, layers.TargetK, layers.TargetV, layers.TargetO, layers.TargetGate, layers.TargetW1, layers.TargetW3, layers.TargetW2}
	denseTargets = []string{layers.TargetQ, layers.TargetV, layers.TargetGateProj, layers.TargetUpProj, layers.TargetDownProj}
)

// adaptedModel builds a model with lc's adapters, B drawn too so that the
// adapters change what the model computes.
func adaptedModel(t testing.TB, moe bool, lc layers.LoRAConfig, dt autograd.DType) *layers.Model {
	t.Helper()
	m, err := layers.New(peftModelConfig(moe), dt, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AttachLoRA(lc, 7); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, a := range m.Adapters() {
		if strings.HasSuffix(a.Name, ".lora_B") {
			for i := range a.Len() {
				a.Set(i, rng.NormFloat64()*0.2)
			}
		}
	}
	return m
}

// adapterMap returns the model's adapters by name.
func adapterMap(m *layers.Model) map[string]*autograd.Tensor {
	out := map[string]*autograd.Tensor{}
	for _, a := range m.Adapters() {
		out[a.Name] = a
	}
	return out
}

// adapterConfigOf is the AdapterConfig of lc, as a caller converts it.
func adapterConfigOf(lc layers.LoRAConfig, base string) AdapterConfig {
	init := lc.Init
	if init == "" {
		init = AdapterInitKaiming
	}
	return AdapterConfig{Rank: lc.Rank, Alpha: lc.Alpha, Dropout: lc.Dropout, Targets: lc.Targets, RSLoRA: lc.RSLoRA, Init: init, BaseModel: base}
}

// saveTestAdapter saves an adapted model's adapters into a new directory.
func saveTestAdapter(t testing.TB, moe bool, lc layers.LoRAConfig) (string, *layers.Model) {
	t.Helper()
	m := adaptedModel(t, moe, lc, autograd.Float32)
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := SaveAdapter(dir, adapterConfigOf(lc, "runs/base/hf"), adapterMap(m)); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

// TestAdapterRoundTrip: SaveAdapter then LoadAdapter gives the same tensors,
// bit for bit, and the same configuration (Targets sorted), for a Mixtral
// model with every exportable target and a Llama model with the dense MLP's;
// the loaded adapters then load into a fresh model with the same LoRA.
func TestAdapterRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		moe  bool
		lc   layers.LoRAConfig
	}{
		{"mixtral", true, layers.LoRAConfig{Rank: 3, Alpha: 6, Dropout: 0.1, Targets: moeTargets}},
		{"mixtral rslora gaussian", true, layers.LoRAConfig{Rank: 4, Alpha: 3.3, Targets: moeTargets, RSLoRA: true, Init: layers.LoRAInitGaussian}},
		{"llama", false, layers.LoRAConfig{Rank: 2, Alpha: 16, Targets: denseTargets}},
		{"llama rslora rank 5", false, layers.LoRAConfig{Rank: 5, Alpha: 0.7, Targets: denseTargets, RSLoRA: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := saveTestAdapter(t, tc.moe, tc.lc)
			cfg, got, err := LoadAdapter(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := adapterConfigOf(tc.lc, "runs/base/hf")
			want.Targets = slices.Sorted(slices.Values(tc.lc.Targets))
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("config\n got %+v\nwant %+v", cfg, want)
			}
			if cfg.Scale() != tc.lc.Scale() {
				t.Errorf("scale %v, want %v", cfg.Scale(), tc.lc.Scale())
			}
			own := adapterMap(m)
			if len(got) != len(own) {
				t.Errorf("%d tensors loaded, %d saved", len(got), len(own))
			}
			for name, a := range own {
				b, ok := got[name]
				if !ok {
					t.Errorf("%s not loaded", name)
					continue
				}
				if !slices.Equal(a.Shape(), b.Shape()) || !slices.Equal(a.F32(), b.F32()) || b.Name != name {
					t.Errorf("%s: loaded %q %v differs from the saved %v", name, b.Name, b.Shape(), a.Shape())
				}
			}
			fresh, err := layers.New(peftModelConfig(tc.moe), autograd.Float32, 3)
			if err != nil {
				t.Fatal(err)
			}
			lc := tc.lc
			lc.Targets = cfg.Targets
			if _, err := fresh.AttachLoRA(lc, 99); err != nil {
				t.Fatal(err)
			}
			if err := fresh.SetAdapters(got); err != nil {
				t.Fatalf("loaded adapters do not fit the model: %v", err)
			}
		})
	}
}

// wireRecord is a safetensors header record decoded by hand.
type wireRecord struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// expectedKey is what one PEFT key must hold: its shape and where its values
// come from in the model's adapters (expert -1 for a 2-D adapter).
type expectedKey struct {
	shape  []int
	source string
	expert int
}

// expectedKeys lists, from the model's dimensions alone, every key a PEFT
// file of rank r over targets must hold.
func expectedKeys(moe bool, r int) map[string]expectedKey {
	out := map[string]expectedKey{}
	add := func(hf, ours string, outDim, inDim, expert int) {
		out["base_model.model."+hf+".lora_A.weight"] = expectedKey{[]int{r, inDim}, ours + ".lora_A", expert}
		out["base_model.model."+hf+".lora_B.weight"] = expectedKey{[]int{outDim, r}, ours + ".lora_B", expert}
	}
	for l := range pL {
		hf, ours := fmt.Sprintf("model.layers.%d.", l), fmt.Sprintf("layers.%d.", l)
		add(hf+"self_attn.q_proj", ours+"self_attn.q_proj", pH*pDh, pD, -1)
		add(hf+"self_attn.v_proj", ours+"self_attn.v_proj", pKV*pDh, pD, -1)
		if !moe {
			add(hf+"mlp.gate_proj", ours+"mlp.w1", pF, pD, -1)
			add(hf+"mlp.up_proj", ours+"mlp.w3", pF, pD, -1)
			add(hf+"mlp.down_proj", ours+"mlp.w2", pD, pF, -1)
			continue
		}
		add(hf+"self_attn.k_proj", ours+"self_attn.k_proj", pKV*pDh, pD, -1)
		add(hf+"self_attn.o_proj", ours+"self_attn.o_proj", pD, pH*pDh, -1)
		add(hf+"block_sparse_moe.gate", ours+"moe.gate", pE, pD, -1)
		for e := range pE {
			ex := fmt.Sprintf("%sblock_sparse_moe.experts.%d.", hf, e)
			add(ex+"w1", ours+"moe.experts.w1", pFE, pD, e)
			add(ex+"w3", ours+"moe.experts.w3", pFE, pD, e)
			add(ex+"w2", ours+"moe.experts.w2", pD, pFE, e)
		}
	}
	return out
}

// TestAdapterFileByHand decodes the files without this package's reader:
// the safetensors header's keys, dtypes and shapes match the keys expected
// from the model's dimensions (for the Mixtral model, L x E x 3 x 2 expert
// keys), every value is its adapter's (expert slices included), the file is
// 8 + header + 4 x the analytic parameter count bytes, and
// adapter_config.json holds PEFT's fields.
func TestAdapterFileByHand(t *testing.T) {
	for _, moe := range []bool{true, false} {
		t.Run(map[bool]string{true: "mixtral", false: "llama"}[moe], func(t *testing.T) {
			const r = 3
			targets := denseTargets
			// The analytic adapter parameter count: R x (In + Out) per module.
			params := pL * r * ((pD + pH*pDh) + (pD + pKV*pDh) + 2*(pD+pF) + (pF + pD))
			if moe {
				targets = moeTargets
				params = pL * r * ((pD + pH*pDh) + 2*(pD+pKV*pDh) + (pH*pDh + pD) + (pD + pE) + pE*3*(pD+pFE))
			}
			dir, m := saveTestAdapter(t, moe, layers.LoRAConfig{Rank: r, Alpha: 8, Dropout: 0.05, Targets: targets})
			raw, err := os.ReadFile(filepath.Join(dir, PEFTWeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			n := int64(binary.LittleEndian.Uint64(raw[:8]))
			var header map[string]json.RawMessage
			if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
				t.Fatal(err)
			}
			if got := int64(len(raw)); got != 8+n+4*int64(params) {
				t.Errorf("file is %d bytes, want 8 + %d + 4 x %d = %d", got, n, params, 8+n+4*int64(params))
			}
			var meta map[string]string
			if err := json.Unmarshal(header["__metadata__"], &meta); err != nil || !reflect.DeepEqual(meta, map[string]string{"format": "pt"}) {
				t.Errorf("metadata %s, want {\"format\":\"pt\"} (%v)", header["__metadata__"], err)
			}
			delete(header, "__metadata__")
			want := expectedKeys(moe, r)
			if len(header) != len(want) {
				t.Errorf("%d keys, want %d", len(header), len(want))
			}
			experts := 0
			own := adapterMap(m)
			data := raw[8+n:]
			for key, w := range want {
				var rec wireRecord
				if err := json.Unmarshal(header[key], &rec); err != nil {
					t.Errorf("key %s missing or malformed: %v", key, err)
					continue
				}
				if w.expert >= 0 {
					experts++
				}
				if rec.DType != "F32" || !slices.Equal(rec.Shape, w.shape) {
					t.Errorf("%s: %s %v, want F32 %v", key, rec.DType, rec.Shape, w.shape)
					continue
				}
				src := own[w.source].F32()
				size := w.shape[0] * w.shape[1]
				off := 0
				if w.expert >= 0 {
					off = w.expert * size
				}
				for i := range size {
					v := math.Float32frombits(binary.LittleEndian.Uint32(data[rec.Offsets[0]+4*int64(i):]))
					if v != src[off+i] {
						t.Errorf("%s element %d = %v, want %s's %v", key, i, v, w.source, src[off+i])
						break
					}
				}
			}
			if moe && experts != pL*pE*3*2 {
				t.Errorf("%d expert keys, want L x E x 3 x 2 = %d", experts, pL*pE*3*2)
			}
			var pc map[string]any
			b, err := os.ReadFile(filepath.Join(dir, PEFTConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &pc); err != nil {
				t.Fatal(err)
			}
			var leaves []any
			for _, s := range slices.Sorted(slices.Values(targets)) {
				leaves = append(leaves, s)
			}
			wantCfg := map[string]any{
				"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": float64(r), "lora_alpha": 8.0, "lora_dropout": 0.05,
				"target_modules": leaves, "bias": "none", "fan_in_fan_out": false, "use_rslora": false,
				"init_lora_weights": true, "inference_mode": true, "base_model_name_or_path": "runs/base/hf",
			}
			if !reflect.DeepEqual(pc, wantCfg) {
				t.Errorf("adapter_config.json\n got %v\nwant %v", pc, wantCfg)
			}
		})
	}
}

// TestAdapterRSLoRA: an rsLoRA adapter is written as plain LoRA with
// lora_alpha = Alpha·sqrt(R), whose plain scale lora_alpha/r is the rsLoRA
// scale; a PEFT file that says use_rslora true reads as RSLoRA with its
// alpha; and when lora_alpha no longer matches the kept alpha, the file's
// lora_alpha wins.
func TestAdapterRSLoRA(t *testing.T) {
	lc := layers.LoRAConfig{Rank: 4, Alpha: 5, Targets: []string{layers.TargetQ}, RSLoRA: true}
	dir, _ := saveTestAdapter(t, false, lc)
	pc := readConfigMap(t, dir)
	if pc["use_rslora"] != false || pc["lora_alpha"] != 10.0 {
		t.Fatalf("use_rslora %v lora_alpha %v, want false and 5·sqrt(4) = 10", pc["use_rslora"], pc["lora_alpha"])
	}
	if plain := pc["lora_alpha"].(float64) / pc["r"].(float64); plain != lc.Scale() {
		t.Errorf("a plain reader's scale %v, want the rsLoRA scale %v", plain, lc.Scale())
	}

	pc["use_rslora"], pc["lora_alpha"] = true, 5.0
	writeConfigMap(t, dir, pc)
	cfg, _, err := LoadAdapter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RSLoRA || cfg.Alpha != 5 || cfg.Scale() != lc.Scale() {
		t.Errorf("use_rslora true read as RSLoRA %v alpha %v", cfg.RSLoRA, cfg.Alpha)
	}

	pc["use_rslora"], pc["lora_alpha"] = false, 12.0
	writeConfigMap(t, dir, pc)
	cfg, _, err = LoadAdapter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RSLoRA || cfg.Alpha != 12 {
		t.Errorf("edited lora_alpha read as RSLoRA %v alpha %v, want plain LoRA with 12", cfg.RSLoRA, cfg.Alpha)
	}
}

// TestLoadAdapterPEFTConfig: an adapter_config.json with every field PEFT
// writes (and fields moetrain ignores) loads, with target_modules in any
// order and use_rslora true.
func TestLoadAdapterPEFTConfig(t *testing.T) {
	dir, m := saveTestAdapter(t, true, layers.LoRAConfig{Rank: 8, Alpha: 16, Targets: []string{layers.TargetQ, layers.TargetV, layers.TargetW2}})
	b, err := os.ReadFile(filepath.Join("testdata", "peft", "adapter_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PEFTConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, got, err := LoadAdapter(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := AdapterConfig{Rank: 8, Alpha: 16, Dropout: 0.05, Targets: []string{"q_proj", "v_proj", "w2"}, RSLoRA: true,
		Init: AdapterInitKaiming, BaseModel: "mistralai/Mixtral-8x7B-v0.1"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}
	if len(got) != len(m.Adapters()) {
		t.Errorf("%d tensors, want %d", len(got), len(m.Adapters()))
	}
}

// TestSaveAdapterReplaces: saving over an adapter directory replaces it and
// leaves no temporary directory (removing an interrupted save's); a
// directory holding anything else, or a file, is refused and left as it
// was; a refused save leaves the old adapter in place.
func TestSaveAdapterReplaces(t *testing.T) {
	lc := layers.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{layers.TargetQ}}
	dir, m := saveTestAdapter(t, false, lc)
	parent := filepath.Dir(dir)
	debris := filepath.Join(parent, adapterTempPrefix("adapter")+"123")
	other := filepath.Join(parent, adapterTempPrefix("adapter2")+"5")
	for _, d := range []string{debris, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lc.Alpha = 9
	if err := SaveAdapter(dir, adapterConfigOf(lc, ""), adapterMap(m)); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := LoadAdapter(dir)
	if err != nil || cfg.Alpha != 9 || cfg.BaseModel != "" {
		t.Fatalf("after saving again: alpha %v base %q, %v", cfg.Alpha, cfg.BaseModel, err)
	}
	if pc := readConfigMap(t, dir); pc["base_model_name_or_path"] != nil {
		t.Errorf("base_model_name_or_path %v, want null", pc["base_model_name_or_path"])
	}
	des, _ := os.ReadDir(parent)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if !slices.Equal(names, []string{".tmp-adapter2.adapter-5", "adapter"}) {
		t.Errorf("beside the adapter: %v, want only the other adapter's debris", names)
	}

	bad := adapterConfigOf(lc, "")
	bad.Rank = 3 // the adapters have rank 2
	if err := SaveAdapter(dir, bad, adapterMap(m)); err == nil || !strings.Contains(err.Error(), "Rank is 3") {
		t.Errorf("rank mismatch: %v", err)
	}
	if cfg, _, err := LoadAdapter(dir); err != nil || cfg.Alpha != 9 {
		t.Errorf("a refused save changed the adapter: alpha %v, %v", cfg.Alpha, err)
	}

	readme := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(readme, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = SaveAdapter(dir, adapterConfigOf(lc, ""), adapterMap(m))
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("a directory with other files: %v", err)
	}
	if b, err := os.ReadFile(readme); err != nil || string(b) != "keep" {
		t.Errorf("the other file was touched: %q, %v", b, err)
	}
	file := filepath.Join(parent, "plain-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SaveAdapter(file, adapterConfigOf(lc, ""), adapterMap(m)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file as dir: %v", err)
	}
}

// TestSaveAdapterRefuses: inputs SaveAdapter cannot write as PEFT are
// refused with the tensor or field named, before anything is written.
func TestSaveAdapterRefuses(t *testing.T) {
	lc := layers.LoRAConfig{Rank: 2, Alpha: 4, Targets: moeTargets}
	m := adaptedModel(t, true, lc, autograd.Float64)
	good := adapterMap(m)
	edit := func(f func(map[string]*autograd.Tensor)) map[string]*autograd.Tensor {
		c := map[string]*autograd.Tensor{}
		for k, v := range good {
			c[k] = v
		}
		f(c)
		return c
	}
	shared, err := layers.New(func() layers.Config {
		c := peftModelConfig(true)
		c.SharedExperts = 1
		return c
	}(), autograd.Float32, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shared.AttachLoRA(layers.LoRAConfig{Rank: 2, Alpha: 4, Targets: []string{layers.TargetUpProj}}, 1); err != nil {
		t.Fatal(err)
	}
	nan := autograd.ToFloat64(good["layers.0.self_attn.q_proj.lora_B"])
	nan.Set(3, math.NaN())
	cases := []struct {
		name     string
		cfg      func(*AdapterConfig)
		adapters map[string]*autograd.Tensor
		want     string
	}{
		{"rank 0", func(c *AdapterConfig) { c.Rank = 0 }, good, "Rank 0: must be at least 1"},
		{"alpha", func(c *AdapterConfig) { c.Alpha = math.Inf(1) }, good, "Alpha +Inf"},
		{"dropout", func(c *AdapterConfig) { c.Dropout = 1 }, good, "Dropout 1"},
		{"init", func(c *AdapterConfig) { c.Init = "pissa" }, good, `Init "pissa"`},
		{"targets", func(c *AdapterConfig) { c.Targets = []string{"q_proj"} }, good, "Targets q_proj, but the adapters adapt gate,k_proj,o_proj,q_proj,v_proj,w1,w2,w3"},
		{"no adapters", nil, map[string]*autograd.Tensor{}, "no adapters to save"},
		{"missing B", nil, edit(func(c map[string]*autograd.Tensor) { delete(c, "layers.1.moe.experts.w3.lora_B") }),
			`adapter "layers.1.moe.experts.w3.lora_A" has no "layers.1.moe.experts.w3.lora_B"`},
		{"not an adapter", nil, edit(func(c map[string]*autograd.Tensor) { c["layers.0.self_attn.q_proj.weight"] = m.Params()[1] }),
			`tensor "layers.0.self_attn.q_proj.weight" is not a LoRA adapter`},
		{"nil", nil, edit(func(c map[string]*autograd.Tensor) { c["layers.0.self_attn.q_proj.lora_A"] = nil }), `adapter "layers.0.self_attn.q_proj.lora_A" is nil`},
		{"non-finite", nil, edit(func(c map[string]*autograd.Tensor) { c["layers.0.self_attn.q_proj.lora_B"] = nan }),
			`adapter "layers.0.self_attn.q_proj.lora_B" holds NaN at element 3`},
		{"2-D expert", nil, edit(func(c map[string]*autograd.Tensor) {
			c["layers.0.moe.experts.w1.lora_A"] = autograd.New(autograd.Float32, 2, pD)
		}),
			`expert adapter "layers.0.moe.experts.w1.lora_A" [2 16]`},
		{"shared experts", func(c *AdapterConfig) { c.Targets = nil }, adapterMap(shared), `adapter "layers.0.moe.shared_experts.w3.lora_A": tensor "layers.0.moe.shared_experts.w3.weight" has no HuggingFace equivalent`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := adapterConfigOf(lc, "")
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			dir := filepath.Join(t.TempDir(), "a")
			err := SaveAdapter(dir, cfg, tc.adapters)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "save adapter "+dir+": ") {
				t.Errorf("error %v, want one naming %s and %q", err, dir, tc.want)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Errorf("a refused save created %s", dir)
			}
		})
	}
}

// readConfigMap decodes dir's adapter_config.json.
func readConfigMap(t testing.TB, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, PEFTConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var pc map[string]any
	if err := json.Unmarshal(b, &pc); err != nil {
		t.Fatal(err)
	}
	return pc
}

// writeConfigMap writes pc as dir's adapter_config.json.
func writeConfigMap(t testing.TB, dir string, pc map[string]any) {
	t.Helper()
	b, err := json.Marshal(pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PEFTConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
