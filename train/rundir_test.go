package train

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

// TestClaimRunDir: an empty or unrelated directory is claimed as it is; one
// with a checkpoint or a metrics log is refused naming what it holds, and
// force deletes exactly those.
func TestClaimRunDir(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("keep"), 0o644)
	if err := ClaimRunDir(empty, false); err != nil {
		t.Fatalf("directory without a run: %v", err)
	}
	if err := ClaimRunDir(filepath.Join(empty, "new"), false); err != nil {
		t.Fatalf("missing directory: %v", err)
	}

	onlyMetrics := t.TempDir()
	os.WriteFile(filepath.Join(onlyMetrics, MetricsFile), []byte("{}\n"), 0o644)
	var inUse *RunDirInUseError
	err := ClaimRunDir(onlyMetrics, false)
	if !errors.As(err, &inUse) || inUse.LastStep != -1 || !inUse.Metrics || !strings.Contains(err.Error(), onlyMetrics+" already holds a run (metrics.jsonl)") {
		t.Fatalf("metrics only: %v", err)
	}

	run := t.TempDir()
	ck := &checkpoint.Checkpoint{Model: map[string]*autograd.Tensor{"w": autograd.New(autograd.Float32, 2)}, Config: "x: 1\n"}
	for _, step := range []int{3, 9} {
		if _, err := checkpoint.Save(run, step, ck); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(run, "notes.txt"), []byte("keep"), 0o644)
	err = ClaimRunDir(run, false)
	if !errors.As(err, &inUse) || inUse.LastStep != 9 || inUse.Metrics || !strings.Contains(err.Error(), "checkpoints up to step 9)") {
		t.Fatalf("checkpoints: %v", err)
	}
	os.WriteFile(filepath.Join(run, MetricsFile), []byte("{}\n"), 0o644)
	if err := ClaimRunDir(run, false); err == nil || !strings.Contains(err.Error(), "checkpoints up to step 9 and metrics.jsonl") {
		t.Fatalf("checkpoints and metrics: %v", err)
	}
	if err := ClaimRunDir(run, true); err != nil {
		t.Fatalf("force: %v", err)
	}
	for _, gone := range []string{checkpoint.CheckpointsDir, MetricsFile} {
		if _, err := os.Stat(filepath.Join(run, gone)); err == nil {
			t.Errorf("force left %s", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "notes.txt")); err != nil {
		t.Errorf("force deleted a file of the user's: %v", err)
	}
}

// TestNewRefusesUsedRunDir: New without Resume refuses a run directory that
// holds a run, and with Force starts over in it.
func TestNewRefusesUsedRunDir(t *testing.T) {
	c := testConfig(t)
	dir := t.TempDir()
	ck := &checkpoint.Checkpoint{Model: map[string]*autograd.Tensor{"w": autograd.New(autograd.Float32, 2)}, Config: "x: 1\n"}
	if _, err := checkpoint.Save(dir, 5, ck); err != nil {
		t.Fatal(err)
	}
	var inUse *RunDirInUseError
	if _, err := New(Options{Config: c, RunDir: dir}); !errors.As(err, &inUse) || inUse.LastStep != 5 {
		t.Fatalf("New in a used run dir: %v", err)
	}
	if _, err := New(Options{Config: c, RunDir: dir, Force: true}); err != nil {
		t.Fatalf("New with Force: %v", err)
	}
	if steps, _ := checkpoint.Steps(dir); len(steps) != 0 {
		t.Errorf("New with Force left steps %v", steps)
	}
}
