package checkpoint

// Hostile and corrupt PEFT adapter directories (peft_read.go,
// peft_config_read.go). Mutations caught (each tried once and watched to
// fail):
//   - restackExperts' missing-expert check removed: case "missing expert"
//     (a nil pair dereference panics).
//   - the one-expert-count check removed: case "stack with fewer experts".
//   - checkAdapterHalf's rank check removed: cases "mixed ranks", "B of
//     another rank".
//   - complete()'s missing-lora_B check removed: case "half a pair" (panics).
//   - the e >= 0 or the layer >= 0 check in parsePEFTKey removed: cases
//     "negative expert", "negative layer".
//   - the canonical-name check (peftExpertPath(...) == path) removed: case
//     "expert 01".
//   - the target_modules check removed: case "module not in target_modules".
//   - the finite check removed: case "non-finite".
//   - the peft_type, bias, fan_in_fan_out, use_dora, modules_to_save and
//     rank_pattern checks removed, in turn: their cases.

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/layers"
)

// hostileAdapter saves a valid Mixtral adapter of rank 2 (targets q_proj,
// gate and the experts' w1, w2) and returns its directory.
func hostileAdapter(t *testing.T) string {
	t.Helper()
	dir, _ := saveTestAdapter(t, true, layers.LoRAConfig{Rank: 2, Alpha: 4,
		Targets: []string{layers.TargetQ, layers.TargetGate, layers.TargetW1, layers.TargetW2}})
	return dir
}

// editTensors rewrites dir's adapter_model.safetensors through f, keeping
// the stored bytes and metadata of what f leaves.
func editTensors(t *testing.T, dir string, f func(map[string]RawTensor)) {
	t.Helper()
	path := filepath.Join(dir, PEFTWeightsFile)
	ts, meta, err := ReadSafetensorsRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	f(ts)
	if err := WriteSafetensorsRaw(path, ts, meta); err != nil {
		t.Fatal(err)
	}
}

// f32Raw is a float32 RawTensor of shape filled with v.
func f32Raw(v float32, shape ...int) RawTensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return RawTensor{DType: DTypeF32, Shape: shape, Data: b}
}

// rename moves key from to key to.
func rename(ts map[string]RawTensor, from, to string) {
	ts[to] = ts[from]
	delete(ts, from)
}

const (
	hkQA  = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
	hkQB  = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
	hkE2A = "base_model.model.model.layers.1.block_sparse_moe.experts.2.w1.lora_A.weight"
	hkE2B = "base_model.model.model.layers.1.block_sparse_moe.experts.2.w1.lora_B.weight"
	hkE3A = "base_model.model.model.layers.1.block_sparse_moe.experts.3.w2.lora_A.weight"
	hkE3B = "base_model.model.model.layers.1.block_sparse_moe.experts.3.w2.lora_B.weight"
)

// TestLoadAdapterHostile: each corruption of a valid adapter directory is
// an error naming the file, and the key or field, with what is wrong; none
// panics.
func TestLoadAdapterHostile(t *testing.T) {
	weights, config := PEFTWeightsFile, PEFTConfigFile
	cases := []struct {
		name    string
		tensors func(map[string]RawTensor)
		config  func(map[string]any)
		file    string // the file the error names
		want    []string
	}{
		{"peft_type", nil, func(c map[string]any) { c["peft_type"] = "PREFIX_TUNING" }, config, []string{`peft_type "PREFIX_TUNING"`}},
		{"no peft_type", nil, func(c map[string]any) { delete(c, "peft_type") }, config, []string{"peft_type is missing"}},
		{"task_type", nil, func(c map[string]any) { c["task_type"] = "SEQ_CLS" }, config, []string{`task_type "SEQ_CLS"`}},
		{"bias", nil, func(c map[string]any) { c["bias"] = "all" }, config, []string{`bias "all"`}},
		{"fan_in_fan_out", nil, func(c map[string]any) { c["fan_in_fan_out"] = true }, config, []string{"fan_in_fan_out true"}},
		{"dora", nil, func(c map[string]any) { c["use_dora"] = true }, config, []string{"use_dora true"}},
		{"modules_to_save", nil, func(c map[string]any) { c["modules_to_save"] = []string{"lm_head"} }, config, []string{"modules_to_save [lm_head]"}},
		{"rank_pattern", nil, func(c map[string]any) { c["rank_pattern"] = map[string]int{"q_proj": 4} }, config, []string{"rank_pattern/alpha_pattern"}},
		{"no r", nil, func(c map[string]any) { delete(c, "r") }, config, []string{"r is missing"}},
		{"r 0", nil, func(c map[string]any) { c["r"] = 0 }, config, []string{"r = 0"}},
		{"r not an integer", nil, func(c map[string]any) { c["r"] = "two" }, config, []string{`field "r" holds a JSON string, want an integer`}},
		{"bias not a string", nil, func(c map[string]any) { c["bias"] = false }, config, []string{`field "bias" holds a JSON bool, want a string`}},
		{"alpha", nil, func(c map[string]any) { c["lora_alpha"] = -1 }, config, []string{"lora_alpha = -1"}},
		{"dropout", nil, func(c map[string]any) { c["lora_dropout"] = 1.5 }, config, []string{"lora_dropout = 1.5"}},
		{"init pissa", nil, func(c map[string]any) { c["init_lora_weights"] = "pissa" }, config, []string{`init_lora_weights "pissa"`}},
		{"init number", nil, func(c map[string]any) { c["init_lora_weights"] = 3 }, config, []string{"init_lora_weights 3"}},
		{"target_modules number", nil, func(c map[string]any) { c["target_modules"] = 7 }, config, []string{"target_modules 7: want a list of module names"}},
		{"module not in target_modules", nil, func(c map[string]any) { c["target_modules"] = []string{"w1", "w2", "gate"} }, weights,
			[]string{hkQA, "not in target_modules"}},
		{"several problems", nil, func(c map[string]any) { c["bias"], c["fan_in_fan_out"] = "lora_only", true }, config,
			[]string{`bias "lora_only"`, "fan_in_fan_out true"}},

		{"missing expert", func(ts map[string]RawTensor) { delete(ts, hkE2A); delete(ts, hkE2B) }, nil, weights,
			[]string{"no adapter for expert 2", "experts.2.w1.lora_A.weight", "up to expert 3"}},
		{"stack with fewer experts", func(ts map[string]RawTensor) { delete(ts, hkE3A); delete(ts, hkE3B) }, nil, weights,
			[]string{"model.layers.1.block_sparse_moe.experts.*.w2 has adapters for 3 experts", "for 4"}},
		{"half a pair", func(ts map[string]RawTensor) { delete(ts, hkQB) }, nil, weights, []string{hkQA, "has no lora_B", hkQB}},
		{"half an expert pair", func(ts map[string]RawTensor) { delete(ts, hkE2A) }, nil, weights, []string{hkE2B, "has no lora_A", hkE2A}},
		{"mixed ranks", func(ts map[string]RawTensor) { ts[hkQA], ts[hkQB] = f32Raw(0, 3, pD), f32Raw(0, pH*pDh, 3) }, nil, weights,
			[]string{hkQA, "rank 3", "r = 2"}},
		{"B of another rank", func(ts map[string]RawTensor) { ts[hkQB] = f32Raw(0, pH*pDh, 1) }, nil, weights, []string{hkQB, "rank 1"}},
		{"3-D tensor", func(ts map[string]RawTensor) { ts[hkQA] = f32Raw(0, 1, 2, pD) }, nil, weights, []string{hkQA, "shape [1 2 16]"}},
		{"expert of another shape", func(ts map[string]RawTensor) { ts[hkE2A] = f32Raw(0, 2, pD+1) }, nil, weights,
			[]string{hkE2A, "shape [2 17]", "every expert of a stack has one shape"}},
		{"non-finite", func(ts map[string]RawTensor) { ts[hkQA] = f32Raw(float32(math.Inf(-1)), 2, pD) }, nil, weights,
			[]string{hkQA, "element 0 is -Inf"}},
		{"integer tensor", func(ts map[string]RawTensor) {
			ts[hkQA] = RawTensor{DType: DTypeI32, Shape: []int{2, pD}, Data: make([]byte, 4*2*pD)}
		}, nil, weights, []string{hkQA, "not a float type"}},
		{"unknown key", func(ts map[string]RawTensor) { ts["base_model.model.lm_head.lora_A.weight"] = f32Raw(0, 2, pD) }, nil, weights,
			[]string{"base_model.model.lm_head.lora_A.weight", "not an adaptable module"}},
		{"norm", func(ts map[string]RawTensor) {
			rename(ts, hkQA, "base_model.model.model.layers.0.input_layernorm.lora_A.weight")
		}, nil, weights,
			[]string{"input_layernorm", "not an adaptable module"}},
		{"adapter name kept", func(ts map[string]RawTensor) {
			rename(ts, hkQA, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight")
		}, nil, weights, []string{"q_proj.lora_A.default.weight", "not a LoRA tensor"}},
		{"no prefix", func(ts map[string]RawTensor) { rename(ts, hkQA, strings.TrimPrefix(hkQA, "base_model.model.")) }, nil, weights,
			[]string{`keys start with "base_model.model."`}},
		{"DoRA magnitude", func(ts map[string]RawTensor) {
			ts["base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"] = f32Raw(1, pD)
		}, nil, weights, []string{"lora_magnitude_vector", "DoRA"}},
		{"bias tensor", func(ts map[string]RawTensor) {
			ts["base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias"] = f32Raw(1, pD)
		}, nil, weights, []string{"q_proj.lora_B.bias", "not a LoRA tensor"}},
		{"negative expert", func(ts map[string]RawTensor) {
			rename(ts, hkE2A, strings.Replace(hkE2A, "experts.2.", "experts.-1.", 1))
			rename(ts, hkE2B, strings.Replace(hkE2B, "experts.2.", "experts.-1.", 1))
		}, nil, weights, []string{"experts.-1.w1", "not an adaptable module"}},
		{"expert 01", func(ts map[string]RawTensor) {
			rename(ts, hkE2A, strings.Replace(hkE2A, "experts.2.", "experts.02.", 1))
		}, nil, weights,
			[]string{"experts.02.w1", "not an adaptable module"}},
		{"negative layer", func(ts map[string]RawTensor) {
			rename(ts, hkQA, strings.Replace(hkQA, "layers.0.", "layers.-1.", 1))
			rename(ts, hkQB, strings.Replace(hkQB, "layers.0.", "layers.-1.", 1))
		}, nil, weights, []string{"layers.-1.self_attn", "not an adaptable module"}},
		{"huge expert index", func(ts map[string]RawTensor) {
			rename(ts, hkE2A, strings.Replace(hkE2A, "experts.2.", "experts.4000000000.", 1))
			rename(ts, hkE2B, strings.Replace(hkE2B, "experts.2.", "experts.4000000000.", 1))
		}, nil, weights, []string{"no adapter for expert 2", "up to expert 4000000000"}},
		{"no tensors", func(ts map[string]RawTensor) {
			for k := range ts {
				delete(ts, k)
			}
		}, nil, weights, []string{"holds no adapter tensors"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := hostileAdapter(t)
			if tc.tensors != nil {
				editTensors(t, dir, tc.tensors)
			}
			if tc.config != nil {
				pc := readConfigMap(t, dir)
				tc.config(pc)
				writeConfigMap(t, dir, pc)
			}
			wantLoadError(t, dir, tc.file, tc.want...)
		})
	}
}

// wantLoadError checks that LoadAdapter(dir) fails naming dir/file and
// every string of want.
func wantLoadError(t *testing.T, dir, file string, want ...string) {
	t.Helper()
	cfg, ts, err := LoadAdapter(dir)
	if err == nil {
		t.Fatalf("loaded %+v with %d tensors", cfg, len(ts))
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Join(dir, file)) {
		t.Errorf("error %q does not name %s", msg, filepath.Join(dir, file))
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
	if ts != nil {
		t.Errorf("tensors returned with the error")
	}
}

// TestLoadAdapterCorruptFiles: truncated, oversized, mis-sized and missing
// files are errors naming the file, and a header claiming more than the
// file holds allocates nothing for the claim.
func TestLoadAdapterCorruptFiles(t *testing.T) {
	t.Run("truncated weights", func(t *testing.T) {
		dir := hostileAdapter(t)
		path := filepath.Join(dir, PEFTWeightsFile)
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()-6); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, dir, PEFTWeightsFile, "truncated?")
	})
	t.Run("huge claimed shape", func(t *testing.T) {
		dir := hostileAdapter(t)
		h := map[string]any{hkQA: map[string]any{"dtype": "F32", "shape": []int64{1 << 20, 1 << 10}, "data_offsets": []int64{0, 4 << 30}}}
		hb, _ := json.Marshal(h)
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(hb)))
		b = append(append(b, hb...), make([]byte, 16)...)
		if err := os.WriteFile(filepath.Join(dir, PEFTWeightsFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtimeMem
		before.read()
		wantLoadError(t, dir, PEFTWeightsFile, hkQA, "run past the 16 data bytes")
		after.read()
		if grown := after.total - before.total; grown > 64<<20 {
			t.Errorf("loading a 100-byte file allocated %d bytes", grown)
		}
	})
	t.Run("config not JSON", func(t *testing.T) {
		dir := hostileAdapter(t)
		if err := os.WriteFile(filepath.Join(dir, PEFTConfigFile), []byte("{\"r\": 2,"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, dir, PEFTConfigFile, "unexpected end of JSON input")
	})
	t.Run("config too large", func(t *testing.T) {
		dir := hostileAdapter(t)
		big := `{"peft_type": "LORA", "pad": "` + strings.Repeat("x", maxAdapterConfigBytes) + `"}`
		if err := os.WriteFile(filepath.Join(dir, PEFTConfigFile), []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, dir, PEFTConfigFile, "is over 1048576 bytes")
	})
	t.Run("no config", func(t *testing.T) {
		dir := hostileAdapter(t)
		if err := os.Remove(filepath.Join(dir, PEFTConfigFile)); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, dir, PEFTConfigFile, "no such file", "a PEFT adapter directory holds")
	})
	t.Run("pickle only", func(t *testing.T) {
		dir := hostileAdapter(t)
		if err := os.Rename(filepath.Join(dir, PEFTWeightsFile), filepath.Join(dir, "adapter_model.bin")); err != nil {
			t.Fatal(err)
		}
		wantLoadError(t, dir, PEFTWeightsFile, "adapter_model.bin (a PyTorch pickle) is not read")
	})
}

// runtimeMem is the heap allocated so far.
type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}
