package checkpoint

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSteps: only complete step directories count, in step order; a run
// directory without checkpoints has none, and an unreadable one is an error
// naming it.
func TestSteps(t *testing.T) {
	run := t.TempDir()
	if steps, err := Steps(run); err != nil || len(steps) != 0 {
		t.Fatalf("empty run dir: %v, %v", steps, err)
	}
	if steps, err := Steps(filepath.Join(run, "missing")); err != nil || len(steps) != 0 {
		t.Fatalf("missing run dir: %v, %v", steps, err)
	}
	for _, step := range []int{20, 5} {
		if _, err := Save(run, step, sampleCheckpoint(t, uint64(step))); err != nil {
			t.Fatal(err)
		}
	}
	ckDir := filepath.Join(run, CheckpointsDir)
	// An incomplete step and debris do not count.
	if err := os.MkdirAll(filepath.Join(ckDir, StepDirName(30)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ckDir, ".tmp-step-00000040-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	steps, err := Steps(run)
	if err != nil || !reflect.DeepEqual(steps, []int{5, 20}) {
		t.Fatalf("Steps = %v, %v; want [5 20]", steps, err)
	}
	// checkpoints as a file is not a layout Steps can read.
	odd := t.TempDir()
	writeFile(t, filepath.Join(odd, CheckpointsDir), []byte("x"))
	if _, err := Steps(odd); err == nil || !strings.Contains(err.Error(), filepath.Join(odd, CheckpointsDir)) {
		t.Fatalf("checkpoints as a file: %v", err)
	}
}
