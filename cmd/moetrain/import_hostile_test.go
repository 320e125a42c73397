package main

// Mutations caught: checkHFHeaders comparing element counts instead of
// shapes makes the transposed-expert case of TestImportAndEvalRefuseHostileFiles
// fail (the later per-expert check then answers without naming the tensor's
// HF name or the transposition). The hidden_size and d_model 65536 cases,
// with their checks removed, would allocate the claimed model (gigabytes):
// those mutations are caught by checkpoint's TestImportHFRefusesHugeConfig
// and TestCheckModelShapesRefusesClaimsTheFileLacks instead of run here.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

func TestImportAndEvalRefuseHostileFiles(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	args := append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)
	args = append(args, "--set", "moe.expert_ffn_hidden_size=48") // experts not square, so a transposed one differs
	if _, errs, code := run(t, args...); code != 0 {
		t.Fatalf("pretrain exit %d: %s", code, errs)
	}
	hf := filepath.Join(dir, "hf")
	if _, errs, code := run(t, "export", "--ckpt", runDir, "--out", hf); code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	weights := filepath.Join(hf, checkpoint.HFWeightsFile)
	ts, _, err := checkpoint.ReadSafetensors(weights)
	if err != nil {
		t.Fatal(err)
	}

	// An expert stored transposed: same element count, other shape.
	bad := filepath.Join(dir, "transposed")
	os.Mkdir(bad, 0o755)
	cfg, _ := os.ReadFile(filepath.Join(hf, checkpoint.HFConfigFile))
	os.WriteFile(filepath.Join(bad, checkpoint.HFConfigFile), cfg, 0o644)
	name := "model.layers.1.block_sparse_moe.experts.3.w1.weight"
	w := ts[name]
	ts2 := map[string]*autograd.Tensor{}
	for k, v := range ts {
		ts2[k] = v
	}
	ts2[name] = autograd.New(autograd.Float32, w.Dim(1), w.Dim(0))
	if err := checkpoint.WriteSafetensors(filepath.Join(bad, checkpoint.HFWeightsFile), ts2, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "imported")
	_, errs, code := run(t, "import", "--in", bad, "--out", out)
	if code != 1 || !strings.Contains(errs, name) || !strings.Contains(errs, "transposed") {
		t.Errorf("import of a transposed expert: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, checkpoint.CheckpointsDir, checkpoint.LatestFile)); err == nil {
		t.Error("a refused import wrote a checkpoint")
	}

	// hidden_size 65536 beside the small weights.
	var hc map[string]any
	json.Unmarshal(cfg, &hc)
	hc["hidden_size"], hc["head_dim"] = 65536, 32768
	big, _ := json.Marshal(hc)
	huge := filepath.Join(dir, "huge")
	os.Mkdir(huge, 0o755)
	os.WriteFile(filepath.Join(huge, checkpoint.HFConfigFile), big, 0o644)
	data, _ := os.ReadFile(weights)
	os.WriteFile(filepath.Join(huge, checkpoint.HFWeightsFile), data, 0o644)
	_, errs, code = run(t, "import", "--in", huge, "--out", filepath.Join(dir, "imported2"))
	if code != 1 || !strings.Contains(errs, "model.embed_tokens.weight") || !strings.Contains(errs, "hidden_size") {
		t.Errorf("import of hidden_size 65536: exit %d, %s", code, errs)
	}

	// A manifest whose config claims d_model 65536 over the real weights.
	step, err := checkpoint.Resolve(runDir)
	if err != nil {
		t.Fatal(err)
	}
	mpath := filepath.Join(step, checkpoint.ManifestFile)
	raw, _ := os.ReadFile(mpath)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["config"] = strings.Replace(m["config"].(string), "d_model: 32", "d_model: 65536", 1)
	if !strings.Contains(m["config"].(string), "d_model: 65536") {
		t.Fatal("the manifest's config has no d_model: 32 to change")
	}
	raw, _ = json.Marshal(m)
	os.WriteFile(mpath, raw, 0o644)
	_, errs, code = run(t, "eval", "--ckpt", runDir)
	if code != 1 || !strings.Contains(errs, `"embed_tokens.weight"`) || !strings.Contains(errs, "do not belong together") {
		t.Errorf("eval of a d_model 65536 manifest: exit %d, %s", code, errs)
	}
}
