package train

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

// flat returns every tensor's values as float32s, by name.
func flat(ts map[string]*autograd.Tensor) map[string][]float32 {
	out := make(map[string][]float32, len(ts))
	for name, x := range ts {
		v := make([]float32, x.Len())
		for i := range v {
			v[i] = float32(x.At(i))
		}
		out[name] = v
	}
	return out
}

// TestAsyncSaveSnapshots: with train.async_save every checkpoint holds the
// weights and optimizer state of its own step, bit for bit those of the same
// run saving synchronously, although training moved on while it was written.
// Mutations caught: the snapshot taken as a view of the live weights instead
// of a copy (later steps leak into earlier checkpoints); the reused snapshot
// buffers overwritten before the previous write finished (waitSave skipped).
func TestAsyncSaveSnapshots(t *testing.T) {
	sync := runShort(t)
	async := runShort(t, "train.async_save=true")
	dirOf := func(o runOutcome, step int) string {
		return filepath.Join(o.dir, checkpoint.CheckpointsDir, checkpoint.StepDirName(step))
	}
	for step := 1; step <= 4; step++ {
		want, err := checkpoint.Load(dirOf(sync, step))
		if err != nil {
			t.Fatal(err)
		}
		got, err := checkpoint.Load(dirOf(async, step))
		if err != nil {
			t.Fatal(err)
		}
		for group, maps := range map[string][2]map[string][]float32{
			"model": {flat(want.Model), flat(got.Model)}, "optimizer": {flat(want.Optimizer), flat(got.Optimizer)},
		} {
			if len(maps[0]) != len(maps[1]) {
				t.Fatalf("step %d %s: %d tensors, want %d", step, group, len(maps[1]), len(maps[0]))
			}
			for name, w := range maps[0] {
				if !slices.Equal(maps[1][name], w) {
					t.Errorf("step %d: %s %s differs from the synchronous save's", step, group, name)
				}
			}
		}
	}
}
