package main

// Mutations caught: resuming from latest under --resume auto (ignoring
// NewestVerified) makes TestResumeAuto fail (the corrupt step is loaded);
// not printing the rejected checkpoints makes TestResumeAuto fail; dropping
// ResumeFrom from the trainer options makes TestResumeAuto fail (latest is
// resolved again); normaliseArgs eating the word after --resume when it is a
// flag makes TestNormaliseArgs fail; not stopping at "--" makes
// TestNormaliseArgs fail; finetune loading the model of latest instead of
// the checkpoint chosen makes TestResumeAutoUpcycleFinetune fail.

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
)

// TestResumeAuto: with the newest checkpoint corrupt, --resume fails naming
// the file; --resume auto (both spellings) resumes from the previous step,
// says so on stderr, finishes, and leaves the corrupt checkpoint on disk.
func TestResumeAuto(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	// keep_last=10 keeps every checkpoint, so that the test sees what
	// --resume does, not what pruning does.
	base := append(append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...), "--set", "train.keep_last=10")
	if _, errs, code := run(t, base...); code != 0 {
		t.Fatalf("pretrain exit %d: %s", code, errs)
	}
	ckDir := filepath.Join(runDir, checkpoint.CheckpointsDir)
	bad := filepath.Join(ckDir, checkpoint.StepDirName(8), checkpoint.ShardFile(checkpoint.GroupModel, 0))
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}

	_, errs, code := run(t, append(base, "--resume", "--set", "train.steps=12")...)
	if code == 0 || !strings.Contains(errs, bad) || !strings.Contains(errs, "corrupt") {
		t.Fatalf("--resume with a corrupt latest: exit %d, stderr %q; want a failure naming %s", code, errs, bad)
	}

	for _, form := range [][]string{{"--resume", "auto"}, {"--resume=auto"}} {
		out, errs, code := run(t, append(append(base, form...), "--set", "train.steps=6")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s\n%s", form, code, errs, out)
		}
		step4 := filepath.Join(ckDir, checkpoint.StepDirName(4))
		for _, want := range []string{"SKIPPING A DAMAGED CHECKPOINT", bad, "corrupt", "RESUMING FROM AN OLDER CHECKPOINT", step4} {
			if !strings.Contains(errs, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", form, want, errs)
			}
		}
		if !strings.Contains(out, "done: 6 steps") {
			t.Errorf("%v: the resumed run did not finish at step 6:\n%s", form, out)
		}
		if !strings.Contains(out, "resuming at step 4 of 6") {
			t.Errorf("%v: stdout does not say the run continued from step 4:\n%s", form, out)
		}
		after, err := os.ReadFile(bad)
		if err != nil || !bytes.Equal(after, b) {
			t.Fatalf("%v: the corrupt checkpoint was not left as it was (%v)", form, err)
		}
		// The run continued from step 4 to step 6; remove step 6 so that
		// the next form faces the same choice.
		if err := os.RemoveAll(filepath.Join(ckDir, checkpoint.StepDirName(6))); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ckDir, checkpoint.LatestFile), []byte(checkpoint.StepDirName(8)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing verifies: --resume auto fails and lists what it tried.
	step4 := filepath.Join(ckDir, checkpoint.StepDirName(4), checkpoint.ShardFile(checkpoint.GroupOptimizer, 0))
	b4, err := os.ReadFile(step4)
	if err != nil {
		t.Fatal(err)
	}
	b4[len(b4)-1] ^= 0xff
	if err := os.WriteFile(step4, b4, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = run(t, append(base, "--resume", "auto")...)
	if code == 0 || !strings.Contains(errs, "no checkpoint verifies") || !strings.Contains(errs, step4) {
		t.Fatalf("--resume auto with every checkpoint corrupt: exit %d, stderr %q", code, errs)
	}
}

func TestNormaliseArgs(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"pretrain", "--resume", "auto", "--out", "r"}, []string{"pretrain", "--resume=auto", "--out", "r"}},
		{[]string{"pretrain", "--resume", "latest"}, []string{"pretrain", "--resume=latest"}},
		{[]string{"pretrain", "--resume", "--out", "auto"}, []string{"pretrain", "--resume", "--out", "auto"}},
		{[]string{"pretrain", "--out", "r", "--resume"}, []string{"pretrain", "--out", "r", "--resume"}},
		{[]string{"pretrain", "--resume=auto"}, []string{"pretrain", "--resume=auto"}},
		{[]string{"x", "--", "--resume", "auto"}, []string{"x", "--", "--resume", "auto"}},
	}
	for _, c := range cases {
		in := append([]string(nil), c.in...)
		if got := normaliseArgs(in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("normaliseArgs(%q) = %q, want %q", c.in, got, c.want)
		}
		if !reflect.DeepEqual(in, c.in) {
			t.Errorf("normaliseArgs modified its argument: %q", in)
		}
	}
	var m resumeMode
	if err := m.Set("sideways"); err == nil || !strings.Contains(err.Error(), "--resume auto") {
		t.Errorf("--resume=sideways: %v, want an error naming the accepted values", err)
	}
}

// corruptNewest flips a byte of the model file of the newest checkpoint of
// runDir (a one-rank run) and returns that file.
func corruptNewest(t *testing.T, runDir string) string {
	t.Helper()
	steps, err := checkpoint.Steps(runDir)
	if err != nil || len(steps) < 2 {
		t.Fatalf("want two checkpoints in %s: %v, %v", runDir, steps, err)
	}
	bad := filepath.Join(runDir, checkpoint.CheckpointsDir, checkpoint.StepDirName(steps[len(steps)-1]), checkpoint.ShardFile(checkpoint.GroupModel, 0))
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bad
}

// TestResumeAutoUpcycleFinetune: upcycle and finetune take --resume auto
// too, reading the configuration and model of the checkpoint they resume.
func TestResumeAutoUpcycleFinetune(t *testing.T) {
	up := filepath.Join(t.TempDir(), "up")
	mustRun(t, "upcycle", "--from", trainedDense(t), "--out", up, "--set", "moe.num_experts=4", "--set", "train.steps=0")
	mustRun(t, "upcycle", "--resume", "--out", up, "--set", "train.steps=2")
	bad := corruptNewest(t, up)
	if _, errs, code := run(t, "upcycle", "--resume", "--out", up, "--set", "train.steps=4"); code == 0 || !strings.Contains(errs, bad) {
		t.Errorf("upcycle --resume with a corrupt latest: exit %d, %s", code, errs)
	}
	out, errs, code := run(t, "upcycle", "--resume", "auto", "--out", up, "--set", "train.steps=1")
	if code != 0 || !strings.Contains(out, "resuming at step 0 of 1") || !strings.Contains(errs, bad) || !strings.Contains(errs, "RESUMING FROM") {
		t.Errorf("upcycle --resume auto: exit %d:\n%s\n%s", code, out, errs)
	}

	ft := filepath.Join(t.TempDir(), "ft")
	task, _ := taskFile(t, 50)
	mustRun(t, append([]string{"finetune", "--from", trainedMoE(t), "--data", task, "--out", ft}, finetuneSets...)...)
	bad = corruptNewest(t, ft)
	if _, errs, code := run(t, "finetune", "--resume", "--out", ft, "--set", "train.steps=8"); code == 0 || !strings.Contains(errs, bad) {
		t.Errorf("finetune --resume with a corrupt latest: exit %d, %s", code, errs)
	}
	out, errs, code = run(t, "finetune", "--resume=auto", "--out", ft, "--set", "train.steps=4")
	if code != 0 || !strings.Contains(out, "resuming at step 3 of 4") || !strings.Contains(errs, bad) || !strings.Contains(errs, "RESUMING FROM") {
		t.Errorf("finetune --resume auto: exit %d:\n%s\n%s", code, out, errs)
	}
}
