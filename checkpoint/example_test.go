package checkpoint_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

func ExampleWriteSafetensors() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "w.safetensors")

	w := autograd.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [2, 3]
	err = checkpoint.WriteSafetensors(path, map[string]*autograd.Tensor{"w": w}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}
	tensors, meta, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tensors["w"].Shape(), tensors["w"].F32(), meta["format"])
	// Output: [2 3] [1 2 3 4 5 6] pt
}

func ExampleSave() {
	run, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(run)

	ck := &checkpoint.Checkpoint{
		Model:     map[string]*autograd.Tensor{"embed.weight": autograd.New(autograd.Float32, 4, 2)},
		Optimizer: map[string]*autograd.Tensor{"exp_avg.embed.weight": autograd.New(autograd.Float32, 4, 2)},
		Config:    "model:\n  d_model: 2\n",
		Metrics:   checkpoint.Metrics{"loss": 3.25},
	}
	for _, step := range []int{100, 200, 300} {
		if _, err := checkpoint.Save(run, step, ck); err != nil {
			log.Fatal(err)
		}
	}
	removed, err := checkpoint.Prune(run, 2)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := checkpoint.Resolve(run) // a run, checkpoints or step directory
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := checkpoint.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(removed, filepath.Base(dir), loaded.Step, loaded.Metrics["loss"])
	// Output: [step-00000100] step-00000300 300 3.25
}
