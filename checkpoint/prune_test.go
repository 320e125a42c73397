package checkpoint

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPrune(t *testing.T) {
	cases := []struct {
		name        string
		steps       []int
		latest      int // step latest names after the saves; -1 for none
		keep        int
		wantRemoved []string
		wantLeft    []int
	}{
		{"keep last two", []int{1, 2, 3, 4, 5}, 5, 2, []string{"step-00000001", "step-00000002", "step-00000003"}, []int{4, 5}},
		{"latest is old", []int{1, 2, 3, 4, 5, 6}, 2, 2, []string{"step-00000001", "step-00000003", "step-00000004"}, []int{2, 5, 6}},
		{"keep more than there are", []int{1, 2}, 2, 5, nil, []int{1, 2}},
		{"keep zero keeps all", []int{1, 2, 3}, 3, 0, nil, []int{1, 2, 3}},
		{"keep one", []int{7, 8, 9}, 9, 1, []string{"step-00000007", "step-00000008"}, []int{9}},
		{"no latest file", []int{1, 2, 3}, -1, 1, []string{"step-00000001", "step-00000002"}, []int{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			ckDir := filepath.Join(run, "checkpoints")
			for _, s := range tc.steps {
				if _, err := Save(run, s, sampleCheckpoint(t, uint64(s))); err != nil {
					t.Fatal(err)
				}
			}
			if tc.latest >= 0 {
				if err := writeLatest(ckDir, StepDirName(tc.latest)); err != nil {
					t.Fatal(err)
				}
			} else {
				os.Remove(filepath.Join(ckDir, "latest"))
			}
			removed, err := Prune(run, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(removed, tc.wantRemoved) {
				t.Errorf("removed %v, want %v", removed, tc.wantRemoved)
			}
			left, err := listSteps(ckDir)
			if err != nil {
				t.Fatal(err)
			}
			var steps []int
			for _, s := range left {
				steps = append(steps, s.step)
				if _, err := Load(filepath.Join(ckDir, s.name)); err != nil {
					t.Errorf("kept checkpoint does not load: %v", err)
				}
			}
			if !slices.Equal(steps, tc.wantLeft) {
				t.Errorf("left %v, want %v", steps, tc.wantLeft)
			}
			des, _ := os.ReadDir(ckDir)
			if n := len(des) - len(tc.wantLeft); n != map[bool]int{true: 1, false: 0}[tc.latest >= 0] {
				t.Errorf("%d extra entries besides the steps (debris?)", n)
			}
		})
	}
}

func TestPruneErrors(t *testing.T) {
	if _, err := Prune(t.TempDir(), 2); err == nil {
		t.Error("Prune of a run without checkpoints succeeded")
	}
	run := t.TempDir()
	if _, err := Save(run, 1, sampleCheckpoint(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Save(run, 2, sampleCheckpoint(t, 2)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(run, "checkpoints", "latest"), []byte("garbage"))
	if _, err := Prune(run, 1); err == nil {
		t.Error("Prune with an unreadable latest succeeded")
	}
	if left, _ := listSteps(filepath.Join(run, "checkpoints")); len(left) != 2 {
		t.Errorf("Prune removed checkpoints despite the error: %d left", len(left))
	}
}
