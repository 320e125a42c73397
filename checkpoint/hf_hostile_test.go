package checkpoint

// Mutations caught: comparing only element counts in checkHFHeaders (not
// slices.Equal) makes TestImportHFRefusesTransposedExpert fail; dropping the
// duplicate check in readHFHeaders makes TestImportHFRefusesDuplicateAcrossFiles
// fail; removing the CheckFinite call in ImportHF makes TestImportHFRefusesNaNWeight
// fail; removing the num_hidden_layers bound in checkHFHeaders makes
// TestImportHFRefusesAbsurdLayers fail; dropping joinCapped's "and N more"
// makes TestImportHFCapsItsMessage fail; removing the maxNameBytes check in
// readHeader makes TestHostileNamesGiveShortErrors fail; LoadModelOnly verifying every file
// makes TestLoadModelOnlySkipsOptimizer fail.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// hfTensors returns small finite tensors for every tensor hc describes, by
// HuggingFace name.
func hfTensors(t testing.TB, hc hfConfig) map[string]*autograd.Tensor {
	t.Helper()
	cfg, err := configFromHF(&hc)
	if err != nil {
		t.Fatal(err)
	}
	want, ok, err := hfExpected(cfg, 1<<20)
	if err != nil || !ok {
		t.Fatalf("hfExpected: ok %v, %v", ok, err)
	}
	out := map[string]*autograd.Tensor{}
	for name, shape := range want {
		x := autograd.New(autograd.Float32, shape...)
		for i := range x.F32() {
			x.F32()[i] = float32(i%7) * 0.01
		}
		out[name] = x
	}
	return out
}

// writeHFModel writes config.json and model.safetensors of hc, after edit
// changes the tensors, and returns the directory.
func writeHFModel(t *testing.T, hc hfConfig, edit func(map[string]*autograd.Tensor)) string {
	t.Helper()
	ts := hfTensors(t, hc)
	if edit != nil {
		edit(ts)
	}
	dir := writeHFConfig(t, hc)
	if err := WriteSafetensors(filepath.Join(dir, HFWeightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantImportError(t *testing.T, dir string, wants ...string) string {
	t.Helper()
	_, _, err := ImportHF(dir)
	if err == nil {
		t.Fatal("ImportHF accepted the directory")
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	return err.Error()
}

func TestImportHFAcceptsMatchingFiles(t *testing.T) {
	dir := writeHFModel(t, tinyMixtral(), nil)
	cfg, ts, err := ImportHF(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ts["layers.1.moe.experts.w2"].Shape(); len(got) != 3 || got[0] != 4 || got[1] != 64 || got[2] != 128 {
		t.Errorf("stacked w2 shape %v, want [4 64 128]", got)
	}
	if cfg.MoE.NumExperts.All != 4 {
		t.Errorf("experts %d", cfg.MoE.NumExperts.All)
	}
}

func TestImportHFRefusesTransposedExpert(t *testing.T) {
	name := "model.layers.1.block_sparse_moe.experts.2.w1.weight"
	dir := writeHFModel(t, tinyMixtral(), func(ts map[string]*autograd.Tensor) {
		ts[name] = autograd.New(autograd.Float32, 64, 128) // [D, F] instead of [F, D]: same element count
	})
	wantImportError(t, dir, name, "[64 128]", "[128 64]", "transposed", HFWeightsFile)
}

func TestImportHFRefusesDuplicateAcrossFiles(t *testing.T) {
	dir := writeHFModel(t, tinyMixtral(), nil)
	name := "model.norm.weight"
	extra := filepath.Join(dir, "model-00002-of-00002.safetensors")
	if err := WriteSafetensors(extra, map[string]*autograd.Tensor{name: autograd.New(autograd.Float32, 64)}, nil); err != nil {
		t.Fatal(err)
	}
	wantImportError(t, dir, name, HFWeightsFile, "model-00002-of-00002.safetensors", "stored in both")
}

func TestImportHFRefusesNaNWeight(t *testing.T) {
	name := "model.layers.0.self_attn.k_proj.weight"
	dir := writeHFModel(t, tinyMixtral(), func(ts map[string]*autograd.Tensor) {
		ts[name].F32()[5] = float32(math.NaN())
	})
	wantImportError(t, dir, name, "NaN", HFWeightsFile)
}

// TestImportHFRefusesHugeConfig: a config.json claiming hidden_size 65536
// beside a small file is refused from the headers, without allocating what
// the config claims.
func TestImportHFRefusesHugeConfig(t *testing.T) {
	dir := writeHFModel(t, tinyMixtral(), nil)
	hc := tinyMixtral()
	hc.HiddenSize, hc.VocabSize = 65536, 50000
	big := writeHFConfig(t, hc)
	data, err := os.ReadFile(filepath.Join(dir, HFWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, HFWeightsFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	wantImportError(t, big, "model.embed_tokens.weight", "[50000 65536]", "hidden_size")
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
		t.Errorf("refusing allocated %d MB", d>>20)
	}
}

func TestImportHFRefusesAbsurdLayers(t *testing.T) {
	for _, tc := range []struct {
		edit func(*hfConfig)
		want string
	}{
		{func(h *hfConfig) { h.NumHiddenLayers = 4000 }, "num_hidden_layers = 4000 needs at least 36003 tensors"},
		{func(h *hfConfig) { h.NumLocalExperts, h.NumExpertsPerTok = 60000, 2 }, "describes more tensors than the"},
	} {
		dir := writeHFModel(t, tinyMixtral(), nil)
		hc := tinyMixtral()
		tc.edit(&hc)
		data, _ := os.ReadFile(filepath.Join(dir, HFWeightsFile))
		big := writeHFConfig(t, hc)
		if err := os.WriteFile(filepath.Join(big, HFWeightsFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		wantImportError(t, big, HFConfigFile, tc.want, "safetensors files hold")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("refusing took %v", d)
		}
	}
}

func TestImportHFCapsItsMessage(t *testing.T) {
	dir := writeHFModel(t, tinyMixtral(), func(ts map[string]*autograd.Tensor) {
		for i := range 2000 {
			ts["stray."+strings.Repeat("x", 50)+string(rune('a'+i%26))+"."+strconv.Itoa(i)] = autograd.New(autograd.Float32, 1)
		}
	})
	msg := wantImportError(t, dir, "and 1996 more", "not part of the model")
	if len(msg) > 2000 {
		t.Errorf("message is %d bytes", len(msg))
	}
}

func TestLoadModelOnlySkipsOptimizer(t *testing.T) {
	run := t.TempDir()
	w := autograd.FromSlice([]float32{1, 2, 3}, 3)
	dir, err := Save(run, 1, &Checkpoint{
		Model:     map[string]*autograd.Tensor{"w": w},
		Optimizer: map[string]*autograd.Tensor{"exp_avg.w": autograd.FromSlice([]float32{0, 0, 0}, 3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, OptimizerFile)); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadModelOnly(dir)
	if err != nil {
		t.Fatalf("LoadModelOnly needs the optimizer file: %v", err)
	}
	if ck.Optimizer != nil || ck.Model["w"].At(2) != 3 {
		t.Errorf("optimizer %v, model %v", ck.Optimizer, ck.Model["w"])
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load accepted a checkpoint without its optimizer file")
	}
	path := filepath.Join(dir, ModelFile)
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModelOnly(dir); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("a flipped byte in the model file: %v", err)
	}
}

// TestHostileNamesGiveShortErrors: a 1 MB tensor name or manifest file entry
// is refused without being echoed whole.
func TestHostileNamesGiveShortErrors(t *testing.T) {
	long := strings.Repeat("n", 1<<20)
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(path, buildFile(`{"`+long+`":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadSafetensors(path)
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "1048576 bytes") || !strings.Contains(err.Error(), path) {
		t.Errorf("1 MB tensor name: %d-byte error %.300q", len(fmt.Sprint(err)), fmt.Sprint(err))
	}
	dir := filepath.Join(t.TempDir(), StepDirName(1))
	os.Mkdir(dir, 0o755)
	m := `{"format_version":1,"step":1,"files":{"model.safetensors":{},"a/` + long + `":{}}}`
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadManifest(dir)
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "invalid file entry") {
		t.Errorf("1 MB file entry: %d-byte error", len(fmt.Sprint(err)))
	}
}
