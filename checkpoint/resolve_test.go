package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	run := t.TempDir()
	for _, step := range []int{10, 20, 30} {
		if _, err := Save(run, step, sampleCheckpoint(t, uint64(step))); err != nil {
			t.Fatal(err)
		}
	}
	ckDir := filepath.Join(run, "checkpoints")
	// latest names step 20, not the highest step: latest wins.
	if err := writeLatest(ckDir, StepDirName(20)); err != nil {
		t.Fatal(err)
	}
	step20 := filepath.Join(ckDir, "step-00000020")

	// A checkpoints directory without latest, with an incomplete step and debris.
	bare := t.TempDir()
	for _, name := range []string{"step-00000003", "step-00000100", ".tmp-step-00000200-1", "notes"} {
		if err := os.MkdirAll(filepath.Join(bare, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"step-00000003", "step-00000100", ".tmp-step-00000200-1"} {
		writeFile(t, filepath.Join(bare, name, ManifestFile), []byte("{}"))
	}
	os.Remove(filepath.Join(bare, "step-00000100", ManifestFile)) // incomplete

	// Broken layouts.
	dangling := t.TempDir()
	writeFile(t, filepath.Join(dangling, "latest"), []byte("step-00000009\n"))
	garbage := t.TempDir()
	writeFile(t, filepath.Join(garbage, "latest"), []byte("../../etc\n"))
	emptyRun := t.TempDir()
	os.Mkdir(filepath.Join(emptyRun, "checkpoints"), 0o755)
	noManifest := filepath.Join(t.TempDir(), "step-00000004")
	os.Mkdir(noManifest, 0o755)
	aFile := filepath.Join(step20, ModelFile)

	cases := []struct {
		name    string
		arg     string
		want    string   // resolved directory
		wantErr []string // substrings of the error
	}{
		{"run directory", run, step20, nil},
		{"checkpoints directory", ckDir, step20, nil},
		{"step directory", filepath.Join(ckDir, "step-00000030"), filepath.Join(ckDir, "step-00000030"), nil},
		{"step directory with trailing slash", filepath.Join(ckDir, "step-00000010") + "/", filepath.Join(ckDir, "step-00000010"), nil},
		{"checkpoints directory without latest", bare, filepath.Join(bare, "step-00000003"), nil},
		{"empty argument", "", "", []string{"empty path"}},
		{"missing path", filepath.Join(run, "nope"), "", []string{"nope", "no such file"}},
		{"a file", aFile, "", []string{aFile, "is a file"}},
		{"latest names a missing step", dangling, "", []string{"latest names step-00000009", "no manifest.json"}},
		{"latest holds garbage", garbage, "", []string{`"../../etc"`, "not a step directory name"}},
		{"run without checkpoints", emptyRun, "", []string{"no checkpoint", "latest", "step-NNNNNNNN"}},
		{"step directory without manifest", noManifest, "", []string{"step directory has no manifest.json"}},
		{"unrelated directory", t.TempDir(), "", []string{"not a checkpoint", "manifest.json", "latest", "checkpoints/"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.arg)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Resolve(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve(%q) = %q, want an error", tc.arg, got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// What Resolve returns, Load reads.
	dir, err := Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	if ck, err := Load(dir); err != nil || ck.Step != 20 {
		t.Fatalf("Load(Resolve(run)): step %v, %v", ck, err)
	}
}

func TestStepDirNames(t *testing.T) {
	cases := []struct {
		name string
		step int
		ok   bool
	}{
		{"step-00000000", 0, true},
		{"step-00001234", 1234, true},
		{"step-123456789", 123456789, true},
		{"step-0000123", 0, false},   // too short
		{"step-012345678", 0, false}, // not canonical
		{"step-0000012a", 0, false},
		{"step--0000001", 0, false},
		{"Step-00000001", 0, false},
		{".tmp-step-00000001-5", 0, false},
	}
	for _, c := range cases {
		step, ok := ParseStepDirName(c.name)
		if ok != c.ok || step != c.step {
			t.Errorf("ParseStepDirName(%q) = %d, %v; want %d, %v", c.name, step, ok, c.step, c.ok)
		}
		if c.ok && StepDirName(c.step) != c.name {
			t.Errorf("StepDirName(%d) = %q, want %q", c.step, StepDirName(c.step), c.name)
		}
	}
}
