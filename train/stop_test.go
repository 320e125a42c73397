package train

// Mutations caught: Stop not setting stopReq makes TestStopAtBoundary fail
// (the run trains to train.steps); Stop ignoring inStep (always returning the
// steps done) makes TestStopMidStep fail (it names step 4 while step 5 runs).

import (
	"context"
	"path/filepath"
	"testing"
)

// TestStopAtBoundary: Stop between steps stops the run after the last step
// done, which is the step it returns; the run saves it.
func TestStopAtBoundary(t *testing.T) {
	c := testConfig(t, "train.steps=10", "train.checkpoint_every=0", "train.eval_every=0")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	var tr *Trainer
	said := -1
	opts := Options{Config: c, RunDir: filepath.Join(t.TempDir(), "run"), Train: ds.TrainBatches(c),
		OnStep: func(step int) {
			if step == 3 {
				said = tr.Stop()
			}
		}}
	if tr, err = New(opts); err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Steps != 3 || said != 3 {
		t.Fatalf("Stop after step 3 said %d; run interrupted %v at step %d, want 3", said, res.Interrupted, res.Steps)
	}
	if done, saved := tr.Progress(); done != 3 || saved != 3 {
		t.Fatalf("progress %d/%d after the stop, want 3/3 (saved)", done, saved)
	}
}

// TestStopMidStep: Stop while a step runs returns that step, and the run
// finishes it and stops there.
func TestStopMidStep(t *testing.T) {
	c := testConfig(t, "train.steps=10", "train.checkpoint_every=0", "train.eval_every=0")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: filepath.Join(t.TempDir(), "run"), Train: &stopInside{Batches: ds.TrainBatches(c)}})
	if err != nil {
		t.Fatal(err)
	}
	b := tr.batches.(*stopInside)
	b.tr, b.at = tr, 5
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.said != 5 || res.Steps != 5 || !res.Interrupted {
		t.Fatalf("Stop inside step 5 said %d; run stopped at %d (interrupted %v), want 5", b.said, res.Steps, res.Interrupted)
	}
}

// stopInside calls Stop while the trainer fetches the batch of step at: in
// the middle of that step.
type stopInside struct {
	Batches
	tr        *Trainer
	at, calls int
	said      int
}

func (s *stopInside) Next() ([]int32, []int32) {
	s.calls++
	if s.calls == s.at*s.tr.cfg.Train.GradAccumSteps {
		s.said = s.tr.Stop()
	}
	return s.Batches.Next()
}
