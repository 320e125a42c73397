package checkpoint

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// benchTensors returns float32 tensors totalling mib MiB.
func benchTensors(mib int) map[string]*autograd.Tensor {
	out := map[string]*autograd.Tensor{}
	for i := range 8 {
		x := autograd.New(autograd.Float32, mib<<20/4/8)
		for j := range x.F32() {
			x.F32()[j] = float32(j)
		}
		out[fmt.Sprintf("layers.%d.w", i)] = x
	}
	return out
}

func BenchmarkWriteSafetensors(b *testing.B) {
	for _, mib := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			ts := benchTensors(mib)
			path := filepath.Join(b.TempDir(), "m.safetensors")
			b.SetBytes(int64(mib) << 20)
			for b.Loop() {
				if err := WriteSafetensors(path, ts, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadSafetensors(b *testing.B) {
	for _, mib := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "m.safetensors")
			if err := WriteSafetensors(path, benchTensors(mib), nil); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(mib) << 20)
			for b.Loop() {
				if _, _, err := ReadSafetensors(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSaveLoad measures a full checkpoint (model plus two optimizer
// moments, so 3x the model size on disk) saved and loaded with checksums.
func BenchmarkSaveLoad(b *testing.B) {
	for _, mib := range []int{16, 64} {
		model := benchTensors(mib)
		opt := map[string]*autograd.Tensor{}
		for name, x := range model {
			opt["exp_avg."+name] = x
			opt["exp_avg_sq."+name] = x
		}
		ck := &Checkpoint{Model: model, Optimizer: opt, Config: "x: 1\n"}
		b.Run(fmt.Sprintf("Save/%dMiB", mib), func(b *testing.B) {
			run := b.TempDir()
			b.SetBytes(3 * int64(mib) << 20)
			for b.Loop() {
				if _, err := Save(run, 1, ck); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Load/%dMiB", mib), func(b *testing.B) {
			dir, err := Save(b.TempDir(), 1, ck)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(3 * int64(mib) << 20)
			for b.Loop() {
				if _, err := Load(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
