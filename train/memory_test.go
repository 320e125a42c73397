package train

import (
	"context"
	"runtime"
	"testing"
)

// TestTrainingHeapIsSteady: after warm-up, the live heap of a training run
// (MoE routing changes shapes every step) does not grow step over step.
func TestTrainingHeapIsSteady(t *testing.T) {
	c := testConfig(t, "train.steps=80", "train.checkpoint_every=0", "train.eval_every=0", "train.log_every=10")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	var at20, at80 uint64
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: ds.TrainBatches(c), OnStep: func(step int) {
		switch step {
		case 20:
			at20 = live()
		case 80:
			at80 = live()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("live heap: step 20 %d KiB, step 80 %d KiB", at20>>10, at80>>10)
	if at80 > at20+1<<20 {
		t.Errorf("live heap grew from %d KiB at step 20 to %d KiB at step 80", at20>>10, at80>>10)
	}
}
