package main

// Mutations caught (each tried):
//   - prune.go: evaluating the full model twice (after = before) makes
//     TestPrune fail: the printed loss after pruning no longer matches eval
//     of the written checkpoint.
//   - prune.go pruneTokens: not setting data.path to --data (reading the
//     checkpoint's training data instead) makes TestPrune fail and the
//     missing-data case of TestPruneBadInput write --out.
//   - prune.go: dropping checkPruneOut lets --force delete the checkpoint
//     being pruned: the "out is the source" case fails.

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/train"
)

// pruneText writes a small task corpus and returns its path.
func pruneText(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "task.txt")
	text := strings.Repeat("The bees hum over the clover while the old miller counts his sacks of grain. ", 40)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pretrainSmall trains the small CLI model (2 MoE layers of 4 experts) with
// extra settings and returns its run dir.
func pretrainSmall(t *testing.T, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	args := append(append([]string{"pretrain", "--config", "tiny", "--out", dir}, smallSets...), extra...)
	if _, errs, code := run(t, args...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errs)
	}
	return dir
}

var pruneAfterLoss = regexp.MustCompile(`loss [0-9.]+ before, ([0-9.]+) after`)

// TestPrune prunes a trained checkpoint with both methods; the result
// loads in eval, generate and export, and trains further.
func TestPrune(t *testing.T) {
	src := pretrainSmall(t)
	data := pruneText(t)
	base := t.TempDir()
	for _, method := range []string{"reconstruction", "frequency"} {
		out := filepath.Join(base, method)
		stdout, errs, code := run(t, "prune", "--ckpt", src, "--data", data, "--keep", "2", "--out", out, "--method", method, "--batches", "2")
		if code != 0 {
			t.Fatalf("prune --method %s: exit %d: %s", method, code, errs)
		}
		wants := []string{"prune: " + method + "; keeping 2 experts in each of 2 MoE layers (moe.num_experts 4 -> 2, moe.top_k 2 -> 2); calibration 2 batches, 256 tokens",
			"layer 0: kept [", "layer 1: kept [", "of the routing weight", "wrote " + filepath.Join(out, "checkpoints", "step-00000000")}
		if method == "reconstruction" {
			wants = append(wants, "exhaustive over 6 subsets, relative output error")
		}
		for _, want := range wants {
			if !strings.Contains(stdout, want) {
				t.Errorf("prune --method %s output lacks %q:\n%s", method, want, stdout)
			}
		}
		// The loss printed after pruning is the written checkpoint's.
		m := pruneAfterLoss.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("no eval line in:\n%s", stdout)
		}
		printed, _ := strconv.ParseFloat(m[1], 64)
		var ev struct{ Loss float64 }
		evOut := mustRunPrune(t, "eval", "--ckpt", out, "--data", data, "--json")
		if err := json.Unmarshal([]byte(evOut), &ev); err != nil || math.Abs(ev.Loss-printed) > 1e-4 {
			t.Errorf("eval of the pruned checkpoint: %s (%v); prune printed %v", evOut, err, printed)
		}
	}
	out := filepath.Join(base, "reconstruction")
	if gen := mustRunPrune(t, "generate", "--ckpt", out, "--prompt", "The bees", "-n", "12", "--seed", "1"); !strings.HasPrefix(gen, "The bees") {
		t.Errorf("generate from the pruned model: %q", gen)
	}
	cfg, m, _, err := train.LoadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MoE.NumExperts.String() != "2" || m.Blocks[0].MoE.Experts.Count() != 2 || m.Blocks[1].MoE.Router.Config().NumExperts != 2 {
		t.Errorf("pruned checkpoint: moe.num_experts %s, %d experts in layer 0", cfg.MoE.NumExperts, m.Blocks[0].MoE.Experts.Count())
	}
	if err := checkpoint.ExportHF(filepath.Join(t.TempDir(), "hf"), cfg, train.ModelTensors(m)); err != nil {
		t.Errorf("export of the pruned model: %v", err)
	}
	// Train the pruned model further for 2 steps.
	cfg.Train.Steps, cfg.Train.EvalEvery, cfg.Train.WarmupSteps = 2, 0, 1
	ds, err := train.LoadData(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(train.Options{Config: cfg, RunDir: t.TempDir(), Train: ds.TrainBatches(cfg), Model: m})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 2 || math.IsNaN(res.FinalLoss) || res.FinalLoss <= 0 {
		t.Errorf("training the pruned model: %+v", res)
	}
}

func mustRunPrune(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("moetrain %s: exit %d: %s\n%s", strings.Join(args, " "), code, errs, out)
	}
	return out
}

// TestPruneBadInput: every refused run exits 1 with a message naming the
// problem and writes nothing.
func TestPruneBadInput(t *testing.T) {
	src := pretrainSmall(t)
	dense := pretrainSmall(t, "--set", "moe.num_experts=0", "--set", "model.ffn_hidden_size=32")
	data := pruneText(t)
	used := filepath.Join(t.TempDir(), "used")
	mustRunPrune(t, "prune", "--ckpt", src, "--data", data, "--keep", "3", "--out", used, "--method", "frequency", "--batches", "1", "--eval-batches", "1")
	usedBefore, err := os.ReadFile(filepath.Join(used, "checkpoints", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"keep 0", []string{"--keep", "0"}, "--keep 0: keep at least 1"},
		{"keep all", []string{"--keep", "4"}, "keep 4 experts, but layer 0 has 4 (moe.num_experts = 4): keep fewer than 4"},
		{"method", []string{"--keep", "2", "--method", "magnitude"}, `--method "magnitude": want frequency or reconstruction`},
		{"batches", []string{"--keep", "2", "--batches", "0"}, "--batches 0"},
		{"eval batches", []string{"--keep", "2", "--eval-batches", "-1"}, "--eval-batches -1"},
		{"max subsets", []string{"--keep", "2", "--max-subsets", "0"}, "--max-subsets 0"},
		{"missing data", []string{"--keep", "2", "--data", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{"dense", []string{"--keep", "2", "--ckpt", dense}, "the model is dense (moe.num_experts = 0)"},
		{"missing ckpt", []string{"--keep", "2", "--ckpt", filepath.Join(dir, "nowhere")}, "nowhere"},
	}
	for i, tc := range cases {
		out := filepath.Join(dir, "out"+strconv.Itoa(i))
		args := append([]string{"prune", "--ckpt", src, "--data", data, "--out", out}, tc.args...)
		_, errs, code := run(t, args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", tc.name, code, errs, tc.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: --out %s was written (%v)", tc.name, out, err)
		}
	}
	// An --out that holds a run is refused without --force and left as it was.
	_, errs, code := run(t, "prune", "--ckpt", src, "--data", data, "--keep", "2", "--out", used)
	if code != 1 || !strings.Contains(errs, "already holds a run") || !strings.Contains(errs, "--force") {
		t.Errorf("used --out: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(used, "checkpoints", "latest")); string(after) != string(usedBefore) {
		t.Errorf("refused prune changed %s", used)
	}
	// The source's own run dir is refused even with --force.
	_, errs, code = run(t, "prune", "--ckpt", src, "--data", data, "--keep", "2", "--out", src, "--force")
	if code != 1 || !strings.Contains(errs, "holds the checkpoint being pruned") {
		t.Errorf("--out = the source: exit %d, %q", code, errs)
	}
	if _, _, _, err := train.LoadModel(src); err != nil {
		t.Errorf("the source no longer loads: %v", err)
	}
	// With --force the used --out gets the new model.
	mustRunPrune(t, "prune", "--ckpt", src, "--data", data, "--keep", "2", "--out", used, "--force", "--method", "frequency", "--batches", "1", "--eval-batches", "1")
	cfg, _, _, err := train.LoadModel(used)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MoE.NumExperts.String() != "2" {
		t.Errorf("--force: the model in %s has num_experts %s, want 2", used, cfg.MoE.NumExperts)
	}
}
