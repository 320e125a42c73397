package main

// Runs, signals and checkpoints meeting hostile conditions through the CLI.
//
// Mutations caught: making a second signal stop at the step boundary like
// the first (no os.Exit in watchSignals) makes TestSecondSignalQuitsNow fail
// (exit 0 after a save); dropping the finished-run check in execute makes
// TestResumeFinishedRunNothingToDo fail (it prints "done: 8 steps"); removing
// the CheckTokenIDs call in generate makes TestGenerateForeignTokenizer fail
// (the message lacks the tokenizer's path); removing the non-finite loss
// check in eval makes TestEvalNonFiniteRefused fail (exit 0 and "loss NaN");
// returning LoadData's error unwrapped makes TestEvalMissingDataSaysPassData
// fail; abandoned() reporting the wrong range fails TestAbandoned.

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/data"
)

// slowSets make each step take about a second, so that signals land mid-step.
var slowSets = []string{
	"--set", "model.d_model=128", "--set", "model.n_layers=4", "--set", "model.n_heads=4", "--set", "model.n_kv_heads=2",
	"--set", "moe.num_experts=4", "--set", "moe.expert_ffn_hidden_size=256", "--set", "model.max_seq_len=128",
	"--set", "train.seq_len=128", "--set", "train.micro_batch_size=32", "--set", "train.steps=100000",
	"--set", "train.log_every=1", "--set", "train.eval_every=0", "--set", "train.warmup_steps=1",
}

// startCLI runs the test binary as moetrain with args, output in out.
func startCLI(t *testing.T, out *lockedBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MOETRAINTEST_AS_CLI=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd
}

// waitFor waits until out holds s, for at most a minute.
func waitFor(t *testing.T, out *lockedBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after a minute:\n%s", s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitCode returns the exit status of a finished command.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// TestSecondSignalQuitsNow: the first Ctrl-C says at once that the run stops
// after the running step; a second one quits at once with exit 130, saying
// what it abandons, and writes no checkpoint.
func TestSecondSignalQuitsNow(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	var out lockedBuffer
	cmd := startCLI(t, &out, append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--set", "train.checkpoint_every=0"}, slowSets...)...)
	waitFor(t, &out, "step 1/")
	cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, &out, "stopping after step")
	cmd.Process.Signal(syscall.SIGINT)
	code := exitCode(t, cmd.Wait())
	got := out.String()
	if code != 130 {
		t.Fatalf("exit %d after two Ctrl-C, want 130:\n%s", code, got)
	}
	for _, want := range []string{"Ctrl-C again to quit now without saving", "quitting now without saving", "no checkpoint exists yet: the ", " steps done are abandoned"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "checkpoints", "latest")); !os.IsNotExist(err) {
		t.Errorf("a checkpoint was written after quitting without saving (%v)", err)
	}
}

// TestTerminateStops: SIGTERM stops the run at the step boundary after
// saying so, saves and exits 0; under timeout(1) the run ends with
// timeout's 124 (its SIGTERM obeyed), not 137 (killed after the grace time).
func TestTerminateStops(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	var out lockedBuffer
	cmd := startCLI(t, &out, append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--set", "train.checkpoint_every=0"}, slowSets...)...)
	waitFor(t, &out, "step 1/")
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, out.String())
	}
	for _, want := range []string{"SIGTERM: stopping after step", "interrupted at step", "continue with --resume"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, "checkpoints", "latest")); err != nil {
		t.Fatalf("no checkpoint after SIGTERM: %v", err)
	}

	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"-k", "60", "4", os.Args[0], "pretrain", "--config", "tiny", "--out", filepath.Join(t.TempDir(), "run2")}, slowSets...)
	tc := exec.CommandContext(ctx, "timeout", args...)
	tc.Env = append(os.Environ(), "MOETRAINTEST_AS_CLI=1")
	b, err := tc.CombinedOutput()
	if code := exitCode(t, err); code != 124 {
		t.Fatalf("timeout 4 moetrain pretrain: exit %d, want 124 (stopped by its SIGTERM):\n%s", code, b)
	}
}

// TestAbandoned: what quitting without saving reports.
func TestAbandoned(t *testing.T) {
	for _, c := range []struct {
		done, saved int
		want        string
	}{
		{0, -1, "nothing is lost"},
		{7, -1, "no checkpoint exists yet: the 7 steps done are abandoned"},
		{9, 4, "abandoning steps 5 to 9, trained since the last checkpoint (step 4)"},
		{4, 4, "nothing is lost: the last checkpoint (step 4)"},
	} {
		if got := abandoned(c.done, c.saved); !strings.Contains(got, c.want) {
			t.Errorf("abandoned(%d, %d) = %q, want %q", c.done, c.saved, got, c.want)
		}
	}
}

// TestResumeFinishedRunNothingToDo: --resume of a run at train.steps says
// so, invents no loss, and changes nothing.
func TestResumeFinishedRunNothingToDo(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	if _, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errs)
	}
	metrics := filepath.Join(runDir, "metrics.jsonl")
	before, _ := os.ReadFile(metrics)
	out, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--resume"}, smallSets...)...)
	if code != 0 || !strings.Contains(out, "already at step 8 of train.steps = 8; nothing to do") || strings.Contains(out, "final loss") ||
		!strings.Contains(out, "raise train.steps") {
		t.Fatalf("resume of a finished run: exit %d\n%s\n%s", code, out, errs)
	}
	if after, _ := os.ReadFile(metrics); string(after) != string(before) {
		t.Fatal("resume of a finished run changed metrics.jsonl")
	}
}

// TestGenerateForeignTokenizer: a checkpoint uses the tokenizer stored with
// it when the file changed; without a stored copy, generate after the
// tokenizer file changed (its ids now exceed the model's vocabulary) is an
// error naming the id, the vocabulary size and the tokenizer, not a panic;
// so is eval --data.
func TestGenerateForeignTokenizer(t *testing.T) {
	dir := t.TempDir()
	corpus := []string{strings.Repeat("the king and the queen went to the castle by the river. ", 40)}
	small, err := data.TrainBPE(corpus, 260)
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	if err := small.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	args := append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)
	args = append(args, "--set", "data.tokenizer="+tokPath, "--set", "model.vocab_size=260", "--set", "train.steps=1", "--set", "train.eval_every=0")
	if _, errs, code := run(t, args...); code != 0 {
		t.Fatalf("pretrain with a BPE tokenizer: exit %d: %s", code, errs)
	}
	big, err := data.TrainBPE(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	// The checkpoint keeps the tokenizer it was trained with, so the changed file does not matter to it.
	if _, errs, code := run(t, "generate", "--ckpt", runDir, "--prompt", "the king and the queen went to the castle", "-n", "4"); code != 0 {
		t.Fatalf("generate with the stored tokenizer: exit %d: %s", code, errs)
	}
	// A checkpoint without its own copy (written before checkpoints kept one) falls back to the file.
	stepDir, err := checkpoint.Resolve(runDir)
	if err != nil {
		t.Fatal(err)
	}
	dropStoredTokenizer(t, stepDir)
	_, errs, code := run(t, "generate", "--ckpt", runDir, "--prompt", "the king and the queen went to the castle", "-n", "4")
	if code != 1 {
		t.Fatalf("generate with a changed tokenizer: exit %d: %s", code, errs)
	}
	for _, want := range []string{"outside the model's vocabulary of 260 ids", tokPath, "restore the tokenizer"} {
		if !strings.Contains(errs, want) {
			t.Errorf("message lacks %q: %s", want, errs)
		}
	}
	// eval --data tokenizes with the same changed file.
	text := filepath.Join(dir, "held_out.txt")
	if err := os.WriteFile(text, []byte(corpus[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = run(t, "eval", "--ckpt", runDir, "--data", text)
	if code != 1 || !strings.Contains(errs, "model.vocab_size is 260") || !strings.Contains(errs, "held_out.txt") {
		t.Fatalf("eval --data with a changed tokenizer: exit %d: %s", code, errs)
	}
}

// TestEvalNonFiniteRefused: a checkpoint whose finite weights overflow to
// non-finite logits is refused by eval and generate, naming the checkpoint,
// instead of printing loss NaN or NUL bytes.
func TestEvalNonFiniteRefused(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if _, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir}, append(smallSets, "--set", "train.steps=0")...)...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errs)
	}
	stepDir, err := checkpoint.Resolve(runDir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(stepDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range ck.Model {
		scale(ts, 1e30)
	}
	bad := filepath.Join(dir, "bad")
	if _, err := checkpoint.Save(bad, 0, ck); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "eval", "--ckpt", bad)
	if code != 1 || !strings.Contains(errs, bad) || !strings.Contains(errs, "non-finite") {
		t.Fatalf("eval of overflowing weights: exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = run(t, "generate", "--ckpt", bad, "--prompt", "The", "-n", "3")
	if code != 1 || !strings.Contains(errs, bad) || !strings.Contains(errs, "non-finite") || strings.Contains(out, "\x00") {
		t.Fatalf("generate from overflowing weights: exit %d\n%q\n%s", code, out, errs)
	}
}

// scale multiplies every element of t by f.
func scale(t *autograd.Tensor, f float64) {
	for i := range t.Len() {
		if v := t.At(i) * f; !math.IsInf(v, 0) {
			t.Set(i, v)
		}
	}
}

// TestEvalMissingDataSaysPassData: eval without --data of a checkpoint whose
// training data is gone says to pass --data.
func TestEvalMissingDataSaysPassData(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("To be, or not to be, that is the question. ", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	args := append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)
	args = append(args, "--set", "data.path="+text, "--set", "train.steps=1", "--set", "train.eval_every=0")
	if _, errs, code := run(t, args...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errs)
	}
	if err := os.Remove(text); err != nil {
		t.Fatal(err)
	}
	_, errs, code := run(t, "eval", "--ckpt", runDir)
	if code != 1 || !strings.Contains(errs, "pass --data") || !strings.Contains(errs, text) {
		t.Fatalf("eval with the training data gone: exit %d: %s", code, errs)
	}
}

// dropStoredTokenizer makes stepDir a checkpoint without its own tokenizer
// copy: the file and its manifest entry go.
func dropStoredTokenizer(t *testing.T, stepDir string) {
	t.Helper()
	path := filepath.Join(stepDir, checkpoint.ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	files := m["files"].(map[string]any)
	if _, ok := files["tokenizer.json"]; !ok {
		t.Fatal("the checkpoint holds no tokenizer.json to drop")
	}
	delete(files, "tokenizer.json")
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(stepDir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
}
