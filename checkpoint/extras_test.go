package checkpoint

// Mutations caught: fillStepDir not calling Extras fails TestSaveExtras (no adapter file); calling
// it after the rename, or ignoring its error, fails it on the failed save (a step directory appears).

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSaveExtras: the files Extras writes are part of the step directory, which Load still
// verifies; an Extras error fails the save and leaves no step directory.
func TestSaveExtras(t *testing.T) {
	run := t.TempDir()
	ck := sampleCheckpoint(t, 3)
	ck.Extras = func(dir string) error {
		if err := os.MkdirAll(filepath.Join(dir, "adapter"), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "adapter", "adapter_config.json"), []byte("{}\n"), 0o644)
	}
	dir, err := Save(run, 5, ck)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "adapter", "adapter_config.json")); err != nil || string(b) != "{}\n" {
		t.Fatalf("the extra file: %q, %v", b, err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatalf("a checkpoint with extra files does not load: %v", err)
	}
	ck.Extras = func(string) error { return errors.New("disk full") }
	if _, err := Save(run, 6, ck); err == nil {
		t.Fatal("a failing Extras did not fail the save")
	}
	if steps, _ := Steps(run); len(steps) != 1 || steps[0] != 5 {
		t.Errorf("after the failed save the run holds steps %v, want [5]", steps)
	}
}
