package main

// Mutations caught (each tried):
//   - upcycle.go: dropping the Base of configs.Load (the target no longer starts from the source's
//     configuration) makes every TestUpcycle* run fail on the model mismatch.
//   - trainer.go: not loading Options.OptimizerState makes TestUpcycleCarriesOptimizer fail.
//   - trainer.go: validating the schedule of a 0-step run makes every step-0 conversion fail.
//   - pretrain.go: ignoring --init-from makes TestPretrainInitFrom fail (random weights).
//   - upcycle.go: dropping the --data flag's mapping to data.path fails TestUpcycleTrainAndResume.
//   - upcycle.go: claiming --out after converting, or converting a bad source, leaves files in
//     --out: TestUpcycleBadInput checks that it does not exist.

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/train"
)

// denseSets: a small dense model (F = 32) the upcycle tests start from.
var denseSets = []string{
	"--set", "model.d_model=32", "--set", "model.n_layers=2", "--set", "model.n_heads=2", "--set", "model.n_kv_heads=1",
	"--set", "model.ffn_hidden_size=32", "--set", "model.max_seq_len=32", "--set", "train.seq_len=32",
	"--set", "train.micro_batch_size=4", "--set", "train.steps=6", "--set", "train.warmup_steps=2",
	"--set", "train.eval_every=3", "--set", "train.log_every=2", "--set", "train.checkpoint_every=3",
	"--set", "moe.expert_ffn_hidden_size=32",
}

// trainedDense pretrains the small dense model once per test and returns its run dir.
func trainedDense(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "dense")
	if _, errs, code := run(t, append([]string{"pretrain", "--config", "dense", "--out", dir}, denseSets...)...); code != 0 {
		t.Fatalf("pretrain dense: exit %d: %s", code, errs)
	}
	return dir
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("moetrain %s: exit %d: %s\n%s", strings.Join(args, " "), code, errs, out)
	}
	return out
}

func evalLoss(t *testing.T, ckpt string) float64 {
	t.Helper()
	var ev struct{ Loss float64 }
	if err := json.Unmarshal([]byte(mustRun(t, "eval", "--ckpt", ckpt, "--json", "--batches", "2")), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Loss
}

// logitsOf returns the logits of a fixed batch under the checkpoint's model.
func logitsOf(t *testing.T, ckpt string) []float32 {
	t.Helper()
	in, err := train.OpenInference(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	toks := [][]int32{byte2ids("First Citizen: Before we proceed"), byte2ids("any further, hear me speak. All:")}
	d, err := in.Logits(toks)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(d.Data().([]float32))
}

func byte2ids(s string) []int32 {
	out := make([]int32, len(s))
	for i := range len(s) {
		out[i] = int32(s[i])
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestUpcycleFunctionPreservation: from the CLI, the step-0 checkpoint of every exact method
// evaluates like its dense parent (|diff| < 1e-5), with the same logits, and eval, generate and
// export accept it.
func TestUpcycleFunctionPreservation(t *testing.T) {
	dense := trainedDense(t)
	wantLoss, wantLogits := evalLoss(t, dense), logitsOf(t, dense)
	for _, tc := range []struct {
		name   string
		sets   []string
		moe    string // the model line's layer count
		export bool
	}{
		{"copy", []string{"moe.num_experts=4", "moe.top_k=2"}, "(2 MoE)", true},
		{"granular-2", []string{"upcycle.method=granular", "upcycle.granularity=2", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16"}, "(2 MoE)", true},
		{"granular-4", []string{"upcycle.method=granular", "upcycle.granularity=4", "moe.num_experts=8", "moe.top_k=4", "moe.expert_ffn_hidden_size=8"}, "(2 MoE)", true},
		{"shared", []string{"upcycle.shared_expert=true", "moe.shared_experts=1", "moe.num_experts=4", "moe.top_k=2"}, "(2 MoE)", false},
		{"interleaved", []string{"moe.layer_freq=2", "moe.num_experts=4", "moe.top_k=1"}, "(1 MoE)", false},
		{"btx-identical", nil, "(2 MoE)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), tc.name)
			args := []string{"upcycle", "--from", dense, "--out", out, "--set", "train.steps=0"}
			if tc.name == "btx-identical" {
				args = append(args, "--from", dense, "--set", "upcycle.method=btx", "--set", "moe.num_experts=4", "--set", "moe.top_k=2")
			}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			stdout := mustRun(t, args...)
			for _, want := range []string{"upcycle: method", "upcycle: parameters", "upcycle: check:", "model: 2 layers " + tc.moe, "step-00000000"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			if got := evalLoss(t, out); math.Abs(got-wantLoss) >= 1e-5 {
				t.Errorf("eval: upcycled %.7f, dense %.7f", got, wantLoss)
			}
			if d := maxAbsDiff(logitsOf(t, out), wantLogits); d >= 1e-5 {
				t.Errorf("logits differ from the dense model's by up to %g", d)
			}
			mustRun(t, "generate", "--ckpt", out, "--prompt", "The", "-n", "4", "--seed", "1")
			if tc.export {
				mustRun(t, "export", "--ckpt", out, "--out", filepath.Join(t.TempDir(), "hf"))
			}
		})
	}
}

// TestUpcycleTrainAndResume: the upcycled model trains like pretrain and its step-0 checkpoint
// resumes; the target keeps the source's settings that --set does not change.
func TestUpcycleTrainAndResume(t *testing.T) {
	dense := trainedDense(t)
	out := filepath.Join(t.TempDir(), "up")
	mustRun(t, "upcycle", "--from", dense, "--out", out, "--set", "moe.num_experts=4", "--set", "train.steps=0")
	stdout := mustRun(t, "upcycle", "--resume", "--out", out, "--set", "train.steps=4")
	for _, want := range []string{"resuming at step 0 of 4", "step 4/4", "done: 4 steps"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("resume output lacks %q:\n%s", want, stdout)
		}
	}
	cfgYAML, _, err := train.CheckpointConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"d_model: 32", "ffn_hidden_size: 32", "steps: 4", "micro_batch_size: 4"} {
		if !strings.Contains(string(cfgYAML), want) {
			t.Errorf("the upcycled run's config lacks %q (the source's, or --set's)", want)
		}
	}
	// --data replaces the source's data.path.
	text := filepath.Join(t.TempDir(), "other.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("Upcycled models read this file instead. ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout = mustRun(t, "upcycle", "--from", dense, "--out", filepath.Join(t.TempDir(), "d"), "--data", text,
		"--set", "moe.num_experts=4", "--set", "train.steps=0")
	if !strings.Contains(stdout, "data: "+text) {
		t.Errorf("upcycle --data did not train on %s:\n%s", text, stdout)
	}
	// A second upcycle into the same --out is refused; --force starts over.
	if _, errs, code := run(t, "upcycle", "--from", dense, "--out", out, "--set", "moe.num_experts=4", "--set", "train.steps=2"); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("upcycle into a used --out: exit %d, %s", code, errs)
	}
	mustRun(t, "upcycle", "--from", dense, "--out", out, "--force", "--set", "moe.num_experts=4", "--set", "train.steps=2")
}

// TestUpcycleCarriesOptimizer: upcycle.carry_optimizer puts the dense run's AdamW moments and
// step count into the upcycled run's optimizer.
func TestUpcycleCarriesOptimizer(t *testing.T) {
	dense := trainedDense(t)
	out := filepath.Join(t.TempDir(), "up")
	stdout := mustRun(t, "upcycle", "--from", dense, "--out", out, "--set", "moe.num_experts=4", "--set", "train.steps=0",
		"--set", "upcycle.carry_optimizer=true")
	if !strings.Contains(stdout, "AdamW moments carried (6 steps)") {
		t.Errorf("summary does not report the carried moments:\n%s", stdout)
	}
	load := func(run string) *checkpoint.Checkpoint {
		dir, err := checkpoint.Resolve(run)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := checkpoint.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	src, up := load(dense), load(out)
	if got := up.Optimizer["step"].At(0); got != 6 {
		t.Errorf("optimizer step %v, want the source's 6", got)
	}
	for _, name := range []string{"exp_avg.embed_tokens.weight", "exp_avg_sq.layers.1.self_attn.q_proj.weight"} {
		if !slices.Equal(up.Optimizer[name].F32(), src.Optimizer[name].F32()) {
			t.Errorf("%s is not the source's", name)
		}
	}
}

// TestPretrainInitFrom: --init-from starts from the checkpoint's weights with a fresh optimizer
// at step 0, and refuses a model that does not fit.
func TestPretrainInitFrom(t *testing.T) {
	dense := trainedDense(t)
	out := filepath.Join(t.TempDir(), "cont")
	stdout := mustRun(t, append(append([]string{"pretrain", "--config", "dense", "--init-from", dense, "--out", out}, denseSets...), "--set", "train.steps=0")...)
	if !strings.Contains(stdout, "init: weights from") {
		t.Errorf("no init line:\n%s", stdout)
	}
	if d := maxAbsDiff(logitsOf(t, out), logitsOf(t, dense)); d != 0 {
		t.Errorf("step 0 of --init-from differs from the source by %g", d)
	}
	dir, _ := checkpoint.Resolve(out)
	ck, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Optimizer["step"].At(0) != 0 || slices.ContainsFunc(ck.Optimizer["exp_avg.embed_tokens.weight"].F32(), func(v float32) bool { return v != 0 }) {
		t.Error("--init-from carried optimizer state; it must start fresh")
	}
	_, errs, code := run(t, append(append([]string{"pretrain", "--config", "dense", "--init-from", dense, "--out", filepath.Join(t.TempDir(), "x")}, denseSets...), "--set", "model.ffn_hidden_size=64")...)
	if code != 1 || !strings.Contains(errs, "--init-from") {
		t.Errorf("--init-from into another shape: exit %d, %s", code, errs)
	}
}

// TestUpcycleFromHF: a HuggingFace Llama directory upcycles like the checkpoint it came from.
func TestUpcycleFromHF(t *testing.T) {
	dense := trainedDense(t)
	hf := filepath.Join(t.TempDir(), "hf")
	mustRun(t, "export", "--ckpt", dense, "--out", hf)
	out := filepath.Join(t.TempDir(), "up")
	mustRun(t, "upcycle", "--from", hf, "--out", out, "--set", "moe.num_experts=4", "--set", "train.steps=0",
		"--set", "train.seq_len=32", "--set", "train.micro_batch_size=4", "--set", "moe.layer_freq=1", "--set", "moe.expert_ffn_hidden_size=32")
	if d := maxAbsDiff(logitsOf(t, out), logitsOf(t, dense)); d >= 1e-5 {
		t.Errorf("upcycled from HF: logits differ from the dense model's by %g", d)
	}
}

// TestUpcycleBadInput: each refusal exits 1 with a message naming the problem, and --out is
// never created.
func TestUpcycleBadInput(t *testing.T) {
	dense := trainedDense(t)
	tmp := t.TempDir()
	moe := filepath.Join(tmp, "moe")
	mustRun(t, append([]string{"pretrain", "--config", "tiny", "--out", moe}, smallSets...)...)
	truncated := filepath.Join(tmp, "truncated")
	corrupt := filepath.Join(tmp, "corrupt")
	for _, c := range []struct {
		dir  string
		edit func(b []byte) []byte
	}{{truncated, func(b []byte) []byte { return b[:len(b)/2] }}, {corrupt, func(b []byte) []byte { b[len(b)-9] ^= 0x40; return b }}} {
		if err := os.CopyFS(c.dir, os.DirFS(dense)); err != nil {
			t.Fatal(err)
		}
		step, _ := checkpoint.Resolve(c.dir)
		file := filepath.Join(step, checkpoint.ShardFile(checkpoint.GroupModel, 0))
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, c.edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"moe source", []string{"--from", moe, "--set", "moe.num_experts=4"}, "allow_moe_source"},
		{"model mismatch", []string{"--from", dense, "--config", "tiny"}, "model.d_model"},
		{"top_k above experts", []string{"--from", dense, "--set", "moe.num_experts=2", "--set", "moe.top_k=3"}, "moe.top_k"},
		{"K not a multiple of G", []string{"--from", dense, "--set", "upcycle.method=granular", "--set", "upcycle.granularity=2",
			"--set", "moe.num_experts=4", "--set", "moe.top_k=1", "--set", "moe.expert_ffn_hidden_size=16"}, "moe.top_k"},
		{"btx E not a multiple of sources", []string{"--from", dense, "--from", dense, "--from", dense, "--set", "upcycle.method=btx",
			"--set", "moe.num_experts=4"}, "moe.num_experts"},
		{"missing source", []string{"--from", filepath.Join(tmp, "nope")}, "nope"},
		{"truncated source", []string{"--from", truncated, "--set", "moe.num_experts=4"}, "truncated"},
		{"corrupt source", []string{"--from", corrupt, "--set", "moe.num_experts=4"}, "corrupt"},
		{"no --from", nil, "--from is required"},
		{"unknown key", []string{"--from", dense, "--set", "upcycle.methd=copy"}, "upcycle.method"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectRefusal(t, "upcycle", tc.args, tc.want) })
	}
}

// expectRefusal runs moetrain COMMAND --out DIR ARGS and checks that it exits 1 with want in its
// message and that DIR was never created: a refused input writes nothing.
func expectRefusal(t *testing.T, command string, args []string, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	_, errs, code := run(t, append([]string{command, "--out", out}, args...)...)
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("exit %d, want 1 with %q in:\n%s", code, want, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out %s was created (%v)", out, err)
	}
}
