package main

// Mutations caught: export not calling CheckExportDir makes
// TestExportNeverOverwritesARun fail (the step directory's model.safetensors
// changes); CheckExportDir returning early on --force before the source check
// makes its "--force into the step directory" case fail; the model-only load
// reverting to checkpoint.Load makes its eval-without-optimizer case fail.

import (
	"bytes"
	"github.com/moetrain/moetrain/checkpoint"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportNeverOverwritesARun(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if _, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)...); code != 0 {
		t.Fatalf("pretrain exit %d: %s", code, errs)
	}
	step := filepath.Join(runDir, "checkpoints", "step-00000008")
	model := filepath.Join(step, checkpoint.ShardFile(checkpoint.GroupModel, 0))
	before, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		args []string
		want []string
	}{
		{[]string{"--out", step}, []string{step, "the checkpoint being exported", "another --out"}},
		{[]string{"--out", filepath.Join(runDir, "checkpoints", "step-00000004")}, []string{"step-00000004 is the step directory", "--force"}},
		{[]string{"--out", step, "--force"}, []string{step, "the checkpoint being exported", "overwrite"}},
		{[]string{"--out", runDir}, []string{runDir, "run directory", "outside any run"}},
		{[]string{"--out", filepath.Join(runDir, "checkpoints")}, []string{"checkpoints directory"}},
		{[]string{"--out", filepath.Join(runDir, "hf")}, []string{"is inside the run directory"}},
	}
	for _, r := range refusals {
		_, errs, code := run(t, append([]string{"export", "--ckpt", runDir}, r.args...)...)
		if code != 1 {
			t.Errorf("export %v: exit %d, want 1", r.args, code)
		}
		for _, w := range r.want {
			if !strings.Contains(errs, w) {
				t.Errorf("export %v: %q lacks %q", r.args, errs, w)
			}
		}
		if now, _ := os.ReadFile(model); !bytes.Equal(now, before) {
			t.Fatalf("export %v changed %s", r.args, model)
		}
	}
	hf := filepath.Join(dir, "hf")
	if _, errs, code := run(t, "export", "--ckpt", runDir, "--out", hf); code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	if _, errs, code := run(t, "export", "--ckpt", runDir, "--out", hf); code != 1 || !strings.Contains(errs, "already holds config.json") {
		t.Errorf("export over an earlier export: exit %d, %s", code, errs)
	}
	if _, errs, code := run(t, "export", "--ckpt", runDir, "--out", hf, "--force"); code != 0 {
		t.Errorf("export --force over an earlier export: exit %d, %s", code, errs)
	}
	// eval and export read only the model file.
	if err := os.Remove(filepath.Join(step, checkpoint.ShardFile(checkpoint.GroupOptimizer, 0))); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "eval", "--ckpt", runDir, "--json"); code != 0 {
		t.Errorf("eval without the optimizer file: exit %d, %s", code, errs)
	}
}
