package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &out, &errb)
	return out.String(), errb.String(), code
}

// small settings that keep a CLI run to a second or two.
var smallSets = []string{
	"--set", "model.d_model=32", "--set", "model.n_layers=2", "--set", "model.n_heads=2", "--set", "model.n_kv_heads=1",
	"--set", "moe.num_experts=4", "--set", "moe.expert_ffn_hidden_size=32", "--set", "model.max_seq_len=32",
	"--set", "train.seq_len=32", "--set", "train.micro_batch_size=4", "--set", "train.steps=8",
	"--set", "train.warmup_steps=2", "--set", "train.eval_every=4", "--set", "train.log_every=2",
	"--set", "train.checkpoint_every=4",
}

// TestPretrainEvalGenerateExport drives the main path through the CLI.
func TestPretrainEvalGenerateExport(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	out, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)...)
	if code != 0 {
		t.Fatalf("pretrain exit %d: %s", code, errs)
	}
	for _, want := range []string{"data: embedded", "model: 2 layers (2 MoE)", "step 8/8", "val loss", "done: 8 steps"} {
		if !strings.Contains(out, want) {
			t.Errorf("pretrain output lacks %q:\n%s", want, out)
		}
	}
	out, errs, code = run(t, "eval", "--ckpt", runDir, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errs)
	}
	var ev struct {
		Loss, PPL float64
		Tokens    int
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev.Tokens == 0 || ev.Loss <= 0 {
		t.Fatalf("eval --json = %q (%v)", out, err)
	}
	out, errs, code = run(t, "generate", "--ckpt", filepath.Join(runDir, "checkpoints"), "--prompt", "The bees", "-n", "20", "--seed", "3")
	if code != 0 || !strings.HasPrefix(out, "The bees") {
		t.Fatalf("generate exit %d: %q %s", code, out, errs)
	}
	// A prompt that fills max_seq_len (32) still gets its new tokens, and
	// stderr says once how the context slides.
	long := strings.Repeat("The bees hum. ", 4)
	out, errs, code = run(t, "generate", "--ckpt", runDir, "--prompt", long, "-n", "6", "-t", "0")
	if code != 0 || !strings.HasPrefix(out, long) || len(out) != len(long)+6+1 {
		t.Fatalf("generate past max_seq_len: exit %d, %q, %s", code, out, errs)
	}
	if strings.Count(errs, "max_seq_len = 32") != 1 || !strings.Contains(errs, "last 32 tokens") {
		t.Errorf("generate past max_seq_len: stderr %q should say once that the last 32 tokens are kept", errs)
	}
	hf := filepath.Join(dir, "hf")
	if _, errs, code = run(t, "export", "--ckpt", runDir, "--format", "hf", "--out", hf); code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	imported := filepath.Join(dir, "imported")
	if _, errs, code = run(t, "import", "--format", "hf", "--in", hf, "--out", imported); code != 0 {
		t.Fatalf("import exit %d: %s", code, errs)
	}
	out2, errs, code := run(t, "eval", "--ckpt", runDir, "--data", filepath.Join("..", "..", "README.md"), "--json")
	if code != 0 {
		t.Fatalf("eval --data exit %d: %s", code, errs)
	}
	out3, _, _ := run(t, "eval", "--ckpt", imported, "--data", filepath.Join("..", "..", "README.md"), "--json")
	var a, b struct{ Loss float64 }
	json.Unmarshal([]byte(out2), &a)
	json.Unmarshal([]byte(out3), &b)
	// The import takes default batch settings, so sums run in another order: equal to float32 rounding.
	if a.Loss == 0 || math.Abs(a.Loss-b.Loss) > 1e-6*a.Loss {
		t.Errorf("eval of the imported export differs: %s vs %s", out2, out3)
	}
	// Resuming a finished run trains no further and keeps its checkpoint.
	out, errs, code = run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--resume"}, smallSets...)...)
	if code != 0 || !strings.Contains(out, "already at step 8 of train.steps = 8; nothing to do") {
		t.Fatalf("resume exit %d: %s %s", code, out, errs)
	}
}

// TestCLIErrors: bad input exits non-zero with a message that names the problem.
func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("model:\n  d_modle: 64\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"pretrain", "--config", bad}, `did you mean "model.d_model"`},
		{[]string{"pretrain", "--config", "tiny", "--set", "moe.top_k=9"}, "moe.top_k"},
		{[]string{"pretrain", "--config", "tinny"}, "tiny"},
		{[]string{"pretrain", "--config", "tiny", "--data", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{"eval", "--ckpt", filepath.Join(dir, "nowhere")}, "nowhere"},
		{[]string{"export", "--ckpt", dir, "--format", "onnx", "--out", dir}, "onnx"},
		{[]string{"generate", "--ckpt", dir}, "prompt"},
		{[]string{"generate", "--ckpt", dir, "--prompt", "a", "-n", "-1"}, "--max-new-tokens -1"},
		{[]string{"generate", "--ckpt", dir, "--prompt", "a", "-t", "-0.5"}, "--temperature -0.5"},
		{[]string{"generate", "--ckpt", dir, "--prompt", "a", "-t", "NaN"}, "--temperature NaN"},
		{[]string{"generate", "--ckpt", dir, "--prompt", "a", "-k", "-2"}, "--top-k -2"},
		{[]string{"bench", "--steps", "0"}, "--steps 0"},
		{[]string{"bench", "--warmup", "-1"}, "--warmup -1"},
		{[]string{"eval", "--ckpt", dir, "--batches", "-1"}, "--batches -1"},
		{[]string{"pretrain", "--config", "tiny", "--out", filepath.Join(dir, "r"), "--set", "train.micro_batch_size=1000000"},
			"train.micro_batch_size = 1000000 sequences, but the training split of embedded:default (434787 tokens) holds only 3394 windows"},
		{[]string{"pretrain", "--config", "tiny", "--out", filepath.Join(dir, "r"), "--resume", "--force"}, "pass one of them"},
		// config show refuses what pretrain refuses, with the same message
		{[]string{"config", "show", "--config", "tiny", "--set", "train.precision=bf16"}, "train.precision"},
		{[]string{"pretrain", "--config", "tiny", "--out", filepath.Join(dir, "r"), "--set", "train.precision=bf16"}, "train.precision"},
		{[]string{"config", "show", "--config", "mixtral-style", "--set", "moe.router.type=noisy_topk"}, "moe.router.pre_softmax"},
		{[]string{"pretrain", "--config", "mixtral-style", "--out", filepath.Join(dir, "r"), "--set", "moe.router.type=noisy_topk"}, "moe.router.pre_softmax"},
	}
	for _, c := range cases {
		_, errs, code := run(t, c.args...)
		if code == 0 {
			t.Errorf("%v exited 0", c.args)
			continue
		}
		if !strings.Contains(errs, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errs, c.want)
		}
	}
}

// TestPrepareBPEShardsThenTrain: data prepare trains a BPE tokenizer and
// writes shards; pretrain on the shards picks up their tokenizer, and
// generate decodes with it.
func TestPrepareBPEShardsThenTrain(t *testing.T) {
	dir := t.TempDir()
	shards := filepath.Join(dir, "shards")
	out, errs, code := run(t, "data", "prepare", "--tokenizer", "bpe:320", "--out", shards)
	if code != 0 || !strings.Contains(out, "vocabulary 320") {
		t.Fatalf("prepare exit %d: %s %s", code, out, errs)
	}
	runDir := filepath.Join(dir, "run")
	args := append([]string{"pretrain", "--config", "tiny", "--data", shards, "--out", runDir, "--set", "model.vocab_size=320"}, smallSets...)
	if out, errs, code = run(t, args...); code != 0 || !strings.Contains(out, "tokenizer bpe") {
		t.Fatalf("pretrain on shards exit %d: %s %s", code, out, errs)
	}
	out, errs, code = run(t, "generate", "--ckpt", runDir, "--prompt", "The harbour", "-n", "10")
	if code != 0 || !strings.HasPrefix(out, "The harbour") {
		t.Fatalf("generate exit %d: %q %s", code, out, errs)
	}
	// A model too small for the tokenizer is refused before training.
	_, errs, code = run(t, append([]string{"pretrain", "--config", "tiny", "--data", shards, "--out", filepath.Join(dir, "r2")}, smallSets...)...)
	if code == 0 || !strings.Contains(errs, "model.vocab_size") {
		t.Fatalf("vocab mismatch: exit %d, %s", code, errs)
	}
}

// TestRunDirRefusals: pretrain without --resume and import refuse a run
// directory that holds a run, leaving it untouched, and say what to do;
// --force starts over in it.
func TestRunDirRefusals(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	pretrain := func(extra ...string) (string, string, int) {
		args := append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)
		return run(t, append(args, extra...)...)
	}
	if _, errs, code := pretrain(); code != 0 {
		t.Fatalf("pretrain exit %d: %s", code, errs)
	}
	metrics := filepath.Join(runDir, "metrics.jsonl")
	latest := filepath.Join(runDir, "checkpoints", "latest")
	before, _ := os.ReadFile(metrics)
	unchanged := func(what string) {
		t.Helper()
		if now, _ := os.ReadFile(metrics); !bytes.Equal(now, before) {
			t.Errorf("%s changed %s", what, metrics)
		}
		if l, _ := os.ReadFile(latest); strings.TrimSpace(string(l)) != "step-00000008" {
			t.Errorf("%s moved latest to %q", what, l)
		}
	}
	_, errs, code := pretrain()
	if code == 0 {
		t.Fatal("pretrain into a run dir that holds a run exited 0")
	}
	for _, want := range []string{runDir, "checkpoints up to step 8 and metrics.jsonl", "--resume", "--force", "another --out"} {
		if !strings.Contains(errs, want) {
			t.Errorf("pretrain refusal %q lacks %q", errs, want)
		}
	}
	unchanged("a refused pretrain")

	hf := filepath.Join(dir, "hf")
	if _, errs, code := run(t, "export", "--ckpt", runDir, "--out", hf); code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	_, errs, code = run(t, "import", "--in", hf, "--out", runDir)
	if code == 0 {
		t.Fatal("import into a run dir that holds a run exited 0")
	}
	for _, want := range []string{runDir, "step 0", "could no longer resume", "another --out", "--force"} {
		if !strings.Contains(errs, want) {
			t.Errorf("import refusal %q lacks %q", errs, want)
		}
	}
	unchanged("a refused import")

	// --force starts over: a 4-step run leaves no trace of the 8-step one.
	if _, errs, code := pretrain("--force", "--set", "train.steps=4"); code != 0 {
		t.Fatalf("pretrain --force exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(runDir, "checkpoints", "step-00000008")); err == nil {
		t.Error("pretrain --force kept step 8 of the run it replaced")
	}
	recs, _ := os.ReadFile(metrics)
	if n := strings.Count(string(recs), "\n"); n != 2 || !strings.Contains(string(recs), `"step":4`) {
		t.Errorf("metrics after pretrain --force (log_every 2, 4 steps): %d lines\n%s", n, recs)
	}
	// import --force replaces the run with step 0.
	if _, errs, code := run(t, "import", "--in", hf, "--out", runDir, "--force"); code != 0 {
		t.Fatalf("import --force exit %d: %s", code, errs)
	}
	if l, _ := os.ReadFile(latest); strings.TrimSpace(string(l)) != "step-00000000" {
		t.Errorf("import --force: latest %q", l)
	}
	if _, err := os.Stat(filepath.Join(runDir, "checkpoints", "step-00000004")); err == nil {
		t.Error("import --force kept step 4 of the run it replaced")
	}
}
