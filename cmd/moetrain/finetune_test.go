package main

// Mutations caught (each tried):
//   - finetune.go: not attaching the adapters (--lora trains every weight) fails
//     TestFinetuneLoRA on the base-weight hash.
//   - finetune.go: not writing OUT/adapter, or not passing the checkpoint extras, fails
//     TestFinetuneLoRA on the missing files.
//   - adapter.go: eval ignoring --adapter fails TestFinetuneLoRA (eval --adapter vs the run).
//   - generate ignoring --adapter fails TestFinetuneLoRA (greedy text vs the merged model's).
//   - configflags.go: loadOver ignoring --config fails TestFinetuneConfigFile.
//   - train/finetune_eval.go: scoring every token of a task file instead of the completions fails
//     TestEvalTaskData on the token count.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
)

// taskFile writes n prompt/completion records of two-digit sums and returns the path and the
// number of completion bytes plus one end-of-text token per record (the trained tokens).
func taskFile(t *testing.T, n int) (string, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	trained := 0
	for range n {
		x, y := rng.IntN(100), rng.IntN(100)
		c := fmt.Sprint(x + y)
		fmt.Fprintf(&b, "{\"prompt\": \"%d+%d=\", \"completion\": \"%s\"}\n", x, y, c)
		trained += len(c) + 1
	}
	path := filepath.Join(t.TempDir(), "task.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, trained
}

// trainedMoE pretrains the small MoE model of smallSets and returns its run dir.
func trainedMoE(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	mustRun(t, append([]string{"pretrain", "--config", "tiny", "--out", dir}, smallSets...)...)
	return dir
}

var finetuneSets = []string{"--set", "train.steps=6", "--set", "train.checkpoint_every=3", "--set", "train.eval_every=3"}

// baseHash hashes every base-model tensor of a checkpoint (adapters left out), in name order.
func baseHash(t *testing.T, run string) [32]byte {
	t.Helper()
	dir, err := checkpoint.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var names []string
	for name := range ck.Model {
		if !strings.Contains(name, ".lora_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(h, "%s %v\n", name, ck.Model[name].F32())
	}
	return [32]byte(h.Sum(nil))
}

func evalJSON(t *testing.T, args ...string) (loss float64, tokens int) {
	t.Helper()
	var ev struct {
		Loss   float64
		Tokens int
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"eval", "--json"}, args...)...)), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Loss, ev.Tokens
}

// TestFinetuneLoRA: a LoRA run leaves the base weights bit-identical, reports what each target
// matched, writes the adapter in PEFT's layout to OUT/adapter and into every checkpoint, and
// eval --adapter on the base, eval of the run and eval of the merged model agree.
func TestFinetuneLoRA(t *testing.T) {
	base := trainedMoE(t)
	task, _ := taskFile(t, 200)
	out := filepath.Join(t.TempDir(), "lora")
	stdout := mustRun(t, append([]string{"finetune", "--from", base, "--data", task, "--out", out, "--lora"}, finetuneSets...)...)
	for _, want := range []string{"lora: ", "w1: 2 layers x 4 experts = 8 adapters", "q_proj: 2 layers", "finetune data", "done: 6 steps", "adapter: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("finetune output lacks %q:\n%s", want, stdout)
		}
	}
	if baseHash(t, out) != baseHash(t, base) {
		t.Error("the base weights changed in a LoRA run")
	}
	for _, dir := range []string{filepath.Join(out, "adapter"), filepath.Join(out, "checkpoints", "step-00000003", "adapter")} {
		for _, f := range []string{"adapter_model.safetensors", "adapter_config.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("adapter file: %v", err)
			}
		}
	}
	adapted, n1 := evalJSON(t, "--ckpt", base, "--adapter", filepath.Join(out, "adapter"), "--data", task)
	ofRun, n2 := evalJSON(t, "--ckpt", out, "--data", task)
	merged := filepath.Join(t.TempDir(), "merged")
	mustRun(t, "merge", "--ckpt", base, "--adapter", filepath.Join(out, "adapter"), "--out", merged)
	mergedLoss, n3 := evalJSON(t, "--ckpt", merged, "--data", task)
	plain, _ := evalJSON(t, "--ckpt", base, "--data", task)
	if math.Abs(adapted-ofRun) >= 1e-5 || math.Abs(adapted-mergedLoss) >= 1e-5 || n1 != n2 || n1 != n3 {
		t.Errorf("eval --adapter %.7f (%d tokens), the run %.7f (%d), merged %.7f (%d): want equal", adapted, n1, ofRun, n2, mergedLoss, n3)
	}
	if adapted == plain {
		t.Errorf("the adapter changed nothing: %.7f", plain)
	}
	mustRun(t, "export", "--ckpt", merged, "--out", filepath.Join(t.TempDir(), "hf"))
	if _, errs, code := run(t, "export", "--ckpt", out, "--out", filepath.Join(t.TempDir(), "hf2")); code != 1 || !strings.Contains(errs, "moetrain merge") {
		t.Errorf("export of a LoRA run: exit %d, %s", code, errs)
	}
	gen := func(args ...string) string {
		return mustRun(t, append([]string{"generate", "--prompt", "12+30=", "-n", "12", "-t", "0"}, args...)...)
	}
	if a, m, b := gen("--ckpt", base, "--adapter", filepath.Join(out, "adapter")), gen("--ckpt", merged), gen("--ckpt", base); a != m || a == b {
		t.Errorf("greedy generate --adapter %q, merged %q, base %q: want the merged text, unlike the base's", a, m, b)
	}
	// Resume continues the adapters; --adapter continues them in a new run.
	stdout = mustRun(t, "finetune", "--resume", "--out", out, "--set", "train.steps=8")
	if !strings.Contains(stdout, "resuming at step 6 of 8") || baseHash(t, out) != baseHash(t, base) {
		t.Errorf("resume of a LoRA run:\n%s", stdout)
	}
	cont := filepath.Join(t.TempDir(), "cont")
	mustRun(t, "finetune", "--from", base, "--data", task, "--out", cont, "--lora", "--adapter", filepath.Join(out, "adapter"),
		"--set", "train.steps=0", "--set", "lora.rank=3") // the adapter's rank (8) wins, and the run says so in its config
	run8, _ := evalJSON(t, "--ckpt", out, "--data", task)
	if got, _ := evalJSON(t, "--ckpt", cont, "--data", task); math.Abs(got-run8) >= 1e-6 || run8 == ofRun {
		t.Errorf("--adapter at step 0 evaluates to %.7f, the adapter's run (step 8) to %.7f (step 6: %.7f)", got, run8, ofRun)
	}
	mustRun(t, "finetune", "--resume", "--out", cont, "--set", "train.steps=2")
}

// TestFinetuneConfigFile: --config layers a YAML file over the source's configuration.
func TestFinetuneConfigFile(t *testing.T) {
	base := trainedMoE(t)
	task, _ := taskFile(t, 50)
	file := filepath.Join(t.TempDir(), "lora.yaml")
	if err := os.WriteFile(file, []byte("lora:\n  rank: 4\n  targets: [q_proj, w2]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout := mustRun(t, "finetune", "--from", base, "--data", task, "--out", filepath.Join(t.TempDir(), "r4"), "--lora",
		"--config", file, "--set", "train.steps=0")
	if !strings.Contains(stdout, "LoRA rank 4") || !strings.Contains(stdout, "w2: 2 layers x 4 experts") || strings.Contains(stdout, "w1:") {
		t.Errorf("--config %s did not set the lora section:\n%s", file, stdout)
	}
}

// TestFinetuneStepZeroIsBase: with B = 0 the adapted model at step 0 computes the base model.
func TestFinetuneStepZeroIsBase(t *testing.T) {
	base := trainedMoE(t)
	task, _ := taskFile(t, 100)
	out := filepath.Join(t.TempDir(), "lora0")
	mustRun(t, "finetune", "--from", base, "--data", task, "--out", out, "--lora", "--set", "train.steps=0")
	got, _ := evalJSON(t, "--ckpt", out, "--data", task)
	want, _ := evalJSON(t, "--ckpt", base, "--data", task)
	if got != want {
		t.Errorf("step 0 of a LoRA run evaluates to %.9f, the base to %.9f", got, want)
	}
}

// TestFinetuneFull: without --lora every weight trains and the run resumes.
func TestFinetuneFull(t *testing.T) {
	base := trainedMoE(t)
	task, _ := taskFile(t, 200)
	out := filepath.Join(t.TempDir(), "full")
	stdout := mustRun(t, append([]string{"finetune", "--from", base, "--data", task, "--out", out}, finetuneSets...)...)
	if !strings.Contains(stdout, "finetune: full") || baseHash(t, out) == baseHash(t, base) {
		t.Errorf("full fine-tuning left the weights alone or did not say so:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "adapter")); !os.IsNotExist(err) {
		t.Errorf("a full fine-tuning run wrote an adapter (%v)", err)
	}
	mustRun(t, "finetune", "--resume", "--out", out, "--set", "train.steps=8")
}

// TestEvalTaskData: eval --data of a prompt/completion file scores exactly the completion tokens,
// and prune reads the same file.
func TestEvalTaskData(t *testing.T) {
	base := trainedMoE(t)
	task, trained := taskFile(t, 50)
	if _, n := evalJSON(t, "--ckpt", base, "--data", task); n != trained {
		t.Errorf("eval scored %d tokens of the task file, want its %d completion tokens", n, trained)
	}
	// prune calibrates on a task file's records (prompts and completions) as it does on text.
	stdout := mustRun(t, "prune", "--ckpt", base, "--data", task, "--keep", "2", "--method", "frequency", "--out", filepath.Join(t.TempDir(), "p"))
	if !strings.Contains(stdout, "wrote") {
		t.Errorf("prune of task data:\n%s", stdout)
	}
}

// TestFinetuneBadInput: each refusal exits 1 naming the problem and writes nothing to --out.
func TestFinetuneBadInput(t *testing.T) {
	base := trainedMoE(t)
	task, _ := taskFile(t, 50)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"target matching nothing", []string{"--from", base, "--data", task, "--lora", "--set", "lora.targets=gate_proj"}, "gate_proj"},
		{"adapter without lora", []string{"--from", base, "--data", task, "--adapter", base}, "--lora"},
		{"no data", []string{"--from", base}, "--data"},
		{"no from", []string{"--data", task}, "--from"},
		{"missing from", []string{"--from", filepath.Join(t.TempDir(), "nope"), "--data", task}, "nope"},
		{"model change", []string{"--from", base, "--data", task, "--set", "model.d_model=64", "--set", "model.n_heads=2"}, "model"},
		{"bad lora key", []string{"--from", base, "--data", task, "--lora", "--set", "lora.rnak=4"}, "lora.rank"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectRefusal(t, "finetune", tc.args, tc.want) })
	}
}
