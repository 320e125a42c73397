package train

// Mutations caught: restore accepting a missing rng state (the old `if ok`)
// makes TestResumeRefusesDamagedState's "no rng" case fail; dropping the
// metrics count check makes its "NaN tokens" case fail; removing the
// CheckFinite call on the optimizer state makes its "NaN moment" case fail;
// removing it on the weights in loadModel makes TestLoadModelRefusesNaNWeights
// fail, and on the optimizer state there TestOpenModelRefusesNaNMoments.

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
)

// damagedRun trains a tiny run, rewrites its latest checkpoint after edit
// (with valid checksums, as a stranger's file would have) and returns the
// run directory.
func damagedRun(t *testing.T, edit func(ck *checkpoint.Checkpoint)) string {
	t.Helper()
	c := testConfig(t, "train.steps=2", "train.warmup_steps=0", "train.checkpoint_every=0")
	run := filepath.Join(t.TempDir(), "run")
	runTraining(t, c, run, false, 0)
	dir, err := checkpoint.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(ck)
	if _, err := checkpoint.Save(run, ck.Step, ck); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestResumeRefusesDamagedState(t *testing.T) {
	cases := []struct {
		name string
		edit func(ck *checkpoint.Checkpoint)
		want []string
	}{
		{"NaN tokens", func(ck *checkpoint.Checkpoint) { ck.Metrics["tokens"] = math.NaN() }, []string{`"tokens" = NaN is not a count`}},
		{"no tokens", func(ck *checkpoint.Checkpoint) { delete(ck.Metrics, "tokens") }, []string{`lack "tokens"`}},
		{"no rng", func(ck *checkpoint.Checkpoint) { ck.RNG = nil }, []string{"no rng", "earlier checkpoint"}},
		{"NaN moment", func(ck *checkpoint.Checkpoint) {
			ck.Optimizer["exp_avg_sq.embed_tokens.weight"].Set(3, math.Inf(1))
		}, []string{"optimizer state", "exp_avg_sq.embed_tokens.weight", checkpoint.OptimizerFile, "earlier checkpoint"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := damagedRun(t, tc.edit)
			c := testConfig(t, "train.steps=4", "train.warmup_steps=0", "train.checkpoint_every=0")
			ds, err := LoadData(c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = New(Options{Config: c, RunDir: run, Resume: true, Train: ds.TrainBatches(c)})
			if err == nil {
				t.Fatal("resumed from a damaged checkpoint")
			}
			for _, w := range append(tc.want, "--resume") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadModelRefusesNaNWeights(t *testing.T) {
	run := damagedRun(t, func(ck *checkpoint.Checkpoint) { ck.Model["norm.weight"].Set(0, math.NaN()) })
	if _, _, _, err := LoadModel(run); err == nil || !strings.Contains(err.Error(), `"norm.weight"`) || !strings.Contains(err.Error(), checkpoint.ModelFile) {
		t.Errorf("LoadModel of NaN weights: %v", err)
	}
}

// TestOpenModelRefusesNaNMoments: upcycling reads a checkpoint's moments
// through OpenModel, which refuses non-finite ones.
func TestOpenModelRefusesNaNMoments(t *testing.T) {
	run := damagedRun(t, func(ck *checkpoint.Checkpoint) { ck.Optimizer["exp_avg.norm.weight"].Set(1, math.NaN()) })
	_, _, _, err := OpenModel(run)
	if err == nil || !strings.Contains(err.Error(), `"exp_avg.norm.weight"`) || !strings.Contains(err.Error(), checkpoint.OptimizerFile) {
		t.Errorf("OpenModel of NaN moments: %v", err)
	}
	if _, _, _, err := LoadModel(run); err != nil {
		t.Errorf("LoadModel reads no optimizer state, yet: %v", err)
	}
}
