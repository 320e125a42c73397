package checkpoint

// Mutations caught: starting the search at the highest step instead of the
// one latest names makes TestNewestVerifiedStartsAtLatest fail; skipping
// Verify (taking the first step directory) makes TestNewestVerifiedSkipsCorrupt
// fail; not recording a rejected step makes TestNewestVerifiedSkipsCorrupt
// fail; returning no error when nothing verifies makes
// TestNewestVerifiedNoneVerifies fail; ignoring an unreadable latest (instead
// of starting at the newest step) makes TestNewestVerifiedBadLatest fail.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// saveSteps saves sample checkpoints of steps into a fresh run directory.
func saveSteps(t *testing.T, steps ...int) string {
	t.Helper()
	run := t.TempDir()
	for _, s := range steps {
		if _, err := Save(run, s, sampleCheckpoint(t, uint64(s))); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func TestNewestVerifiedSkipsCorrupt(t *testing.T) {
	run := saveSteps(t, 10, 20, 30)
	ckDir := filepath.Join(run, CheckpointsDir)
	bad := filepath.Join(ckDir, StepDirName(30), OptimizerFile)
	flipByte(t, bad, -1)
	// A step directory without a manifest is rejected too.
	if err := os.Remove(filepath.Join(ckDir, StepDirName(20), ManifestFile)); err != nil {
		t.Fatal(err)
	}
	dir, rejected, err := NewestVerified(run)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(ckDir, StepDirName(10)); dir != want {
		t.Fatalf("NewestVerified = %s, want %s", dir, want)
	}
	if len(rejected) != 2 {
		t.Fatalf("rejected = %v, want steps 30 and 20", rejected)
	}
	if msg := rejected[0].Error(); !strings.Contains(msg, bad) || !strings.Contains(msg, "corrupt") {
		t.Errorf("rejection of step 30 %q should name %s and say it is corrupt", msg, bad)
	}
	if msg := rejected[1].Error(); !strings.Contains(msg, filepath.Join(StepDirName(20), ManifestFile)) {
		t.Errorf("rejection of step 20 %q should name its missing manifest", msg)
	}
	// Nothing was deleted.
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the corrupt file is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ckDir, StepDirName(20))); err != nil {
		t.Errorf("the incomplete step is gone: %v", err)
	}
}

func TestNewestVerifiedStartsAtLatest(t *testing.T) {
	run := saveSteps(t, 10, 20, 30)
	ckDir := filepath.Join(run, CheckpointsDir)
	if err := writeLatest(ckDir, StepDirName(20)); err != nil {
		t.Fatal(err)
	}
	dir, rejected, err := NewestVerified(run)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("NewestVerified: %v, rejected %v", err, rejected)
	}
	if want := filepath.Join(ckDir, StepDirName(20)); dir != want {
		t.Fatalf("NewestVerified = %s, want %s (what latest names)", dir, want)
	}
	// Without latest the highest step wins.
	if err := os.Remove(filepath.Join(ckDir, LatestFile)); err != nil {
		t.Fatal(err)
	}
	if dir, _, err = NewestVerified(run); err != nil || dir != filepath.Join(ckDir, StepDirName(30)) {
		t.Fatalf("without latest: %s, %v; want step 30", dir, err)
	}
}

func TestNewestVerifiedBadLatest(t *testing.T) {
	run := saveSteps(t, 10, 20)
	ckDir := filepath.Join(run, CheckpointsDir)
	latest := filepath.Join(ckDir, LatestFile)
	for _, content := range []string{"garbage\n", StepDirName(90) + "\n"} {
		if err := os.WriteFile(latest, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		dir, rejected, err := NewestVerified(run)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(ckDir, StepDirName(20)); dir != want {
			t.Errorf("latest %q: NewestVerified = %s, want %s", content, dir, want)
		}
		if len(rejected) != 1 || !strings.Contains(rejected[0].Error(), latest) {
			t.Errorf("latest %q: rejected = %v, want one error naming %s", content, rejected, latest)
		}
	}
}

func TestNewestVerifiedNoneVerifies(t *testing.T) {
	run := saveSteps(t, 10, 20)
	ckDir := filepath.Join(run, CheckpointsDir)
	for _, s := range []int{10, 20} {
		flipByte(t, filepath.Join(ckDir, StepDirName(s), ModelFile), -1)
	}
	dir, rejected, err := NewestVerified(run)
	if err == nil {
		t.Fatalf("NewestVerified = %s with every checkpoint corrupt", dir)
	}
	if len(rejected) != 2 {
		t.Errorf("rejected = %v, want both steps", rejected)
	}
	for _, want := range []string{StepDirName(10), StepDirName(20), "no checkpoint verifies"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, _, err := NewestVerified(t.TempDir()); err == nil || !strings.Contains(err.Error(), CheckpointsDir) {
		t.Errorf("a run directory without checkpoints: %v, want an error naming %s", err, CheckpointsDir)
	}
}
