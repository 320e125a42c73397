package train

// Mutations caught: New not loading Options.OptimizerState (the moments and step count stay
// fresh) fails TestOptimizerStateCarried; the schedule counting from AdamW's step instead of
// scheduleStep (the carried 50 steps put the cosine past its end) fails it on the learning rate;
// restore not reading optimizer_step_base fails it after the resume.

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
)

// TestOptimizerStateCarried: a run started from an optimizer state takes its moments and step
// count (AdamW's bias correction continues), while its learning-rate schedule starts at step 0;
// a resume keeps that offset.
func TestOptimizerStateCarried(t *testing.T) {
	c := testConfig(t, "train.steps=3", "train.warmup_steps=0", "train.checkpoint_every=0")
	src := filepath.Join(t.TempDir(), "src")
	runTraining(t, c, src, false, 0)
	dir, err := checkpoint.Resolve(src)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := ck.Optimizer
	st["step"].Set(0, 50)

	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	c2 := testConfig(t, "train.steps=2", "train.warmup_steps=0", "train.checkpoint_every=0")
	tr, err := New(Options{Config: c2, RunDir: run, Train: ds.TrainBatches(c2), OptimizerState: st})
	if err != nil {
		t.Fatal(err)
	}
	if tr.opt.Steps() != 50 || tr.scheduleStep() != 0 {
		t.Fatalf("AdamW at step %d, schedule at %d; want 50 and 0", tr.opt.Steps(), tr.scheduleStep())
	}
	name := "exp_avg.embed_tokens.weight"
	if !slices.Equal(tr.opt.State()[name].F32(), st[name].F32()) {
		t.Fatalf("%s is not the given state's", name)
	}
	sr, err := tr.step1()
	if err != nil {
		t.Fatal(err)
	}
	if sr.LR != c2.Train.LR {
		t.Errorf("first step's learning rate %g, want the schedule's start %g", sr.LR, c2.Train.LR)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	re, err := New(Options{Config: c2, RunDir: run, Resume: true, Train: ds.TrainBatches(c2)})
	if err != nil {
		t.Fatal(err)
	}
	if re.opt.Steps() != 52 || re.scheduleStep() != 2 {
		t.Errorf("resumed: AdamW at step %d, schedule at %d; want 52 and 2", re.opt.Steps(), re.scheduleStep())
	}
}
