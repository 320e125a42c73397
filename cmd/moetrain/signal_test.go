package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the moetrain command when asked, so
// that tests can run it as a child process and signal it.
func TestMain(m *testing.M) {
	if os.Getenv("MOETRAINTEST_AS_CLI") == "1" {
		os.Exit(Execute(os.Args[1:], rankOutput(os.Getenv, os.Stdout), os.Stderr))
	}
	os.Exit(m.Run())
}

// TestInterruptSavesAndResumes: SIGINT during pretrain saves a checkpoint and
// exits 0; --resume continues from it to the end.
func TestInterruptSavesAndResumes(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)
	args = append(args, "--set", "train.steps=100000", "--set", "train.checkpoint_every=0", "--set", "train.eval_every=0")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MOETRAINTEST_AS_CLI=1")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until it is training, then interrupt.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "step ") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interrupted pretrain: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted at step") {
		t.Fatalf("no interruption message:\n%s", out.String())
	}
	latest, err := os.ReadFile(filepath.Join(runDir, "checkpoints", "latest"))
	if err != nil {
		t.Fatalf("no checkpoint after SIGINT: %v", err)
	}
	// Resume with a step budget just past the saved step: it trains two more steps and finishes.
	var saved int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(latest)), "step-%d", &saved); err != nil || saved < 1 {
		t.Fatalf("latest = %q (%v)", latest, err)
	}
	resumeArgs := append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--resume"}, smallSets...)
	resumeArgs = append(resumeArgs, "--set", fmt.Sprintf("train.steps=%d", saved+2), "--set", "train.eval_every=0",
		"--set", "train.warmup_steps=0")
	outR, errs, code := run(t, resumeArgs...)
	if code != 0 || !strings.Contains(outR, fmt.Sprintf("resuming at step %d", saved)) || !strings.Contains(outR, fmt.Sprintf("done: %d steps", saved+2)) {
		t.Fatalf("resume after SIGINT: exit %d\n%s\n%s", code, outR, errs)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
