package checkpoint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestCopyUnlistedEntries: a checkpoint's files its manifest does not list
// (an adapter directory written by Extras) are found and copied whole,
// subdirectories included; a symbolic link is refused naming it. Mutations
// caught: UnlistedEntries returning the listed files too (the list differs);
// copyDir not recursing (the nested file is missing).
func TestCopyUnlistedEntries(t *testing.T) {
	run := t.TempDir()
	ck := &Checkpoint{Model: map[string]*autograd.Tensor{"w": autograd.FromSlice([]float32{1}, 1)},
		Extras: func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "adapter", "inner"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "adapter", "inner", "a.json"), []byte(`{"r":4}`), 0o644)
		}}
	step, err := Save(run, 1, ck)
	if err != nil {
		t.Fatal(err)
	}
	names, err := UnlistedEntries(step)
	if err != nil || !slices.Equal(names, []string{"adapter"}) {
		t.Fatalf("unlisted entries %v (%v), want [adapter]", names, err)
	}
	dst := t.TempDir()
	if err := CopyEntries(step, dst, names); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "adapter", "inner", "a.json")); err != nil || string(b) != `{"r":4}` {
		t.Fatalf("copied file %q (%v)", b, err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(step, "link")); err != nil {
		t.Fatal(err)
	}
	if err := CopyEntries(step, t.TempDir(), []string{"link"}); err == nil || !strings.Contains(err.Error(), "link is neither a file nor a directory") {
		t.Errorf("a symbolic link: %v", err)
	}
}
