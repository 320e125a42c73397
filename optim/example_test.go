package optim_test

import (
	"fmt"
	"math"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/optim"
)

// A training loop: the schedule sets the rate, clipping bounds the step, and
// AdamW updates the parameters. Here the loss is (w - 3)², whose gradient is
// written out by hand.
func ExampleAdamW() {
	w := autograd.NewParam(autograd.Float32, "w", 1)
	params := []*autograd.Tensor{w}
	opt, err := optim.NewAdamW(params, optim.AdamWConfig{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	if err != nil {
		panic(err)
	}
	sched := optim.Schedule{Decay: optim.DecayCosine, LR: 0.1, MinLR: 0.001, WarmupSteps: 10, TotalSteps: 300}
	for range 300 {
		optim.ZeroGrad(params)
		autograd.Grads[float32](w)[0] = 2 * (w.F32()[0] - 3)
		optim.ClipGradNorm(params, 1)
		opt.SetLR(sched.At(opt.Steps()))
		opt.Step()
	}
	fmt.Printf("w = %.2f after %d steps\n", w.At(0), opt.Steps())
	// Output: w = 3.00 after 300 steps
}

func ExampleSchedule() {
	s := optim.Schedule{Decay: optim.DecayCosine, LR: 1e-3, MinLR: 1e-4, WarmupSteps: 100, TotalSteps: 1100}
	for _, step := range []int{0, 50, 100, 600, 1100} {
		fmt.Printf("step %4d: lr %.2e\n", step, s.At(step))
	}
	// Output:
	// step    0: lr 0.00e+00
	// step   50: lr 5.00e-04
	// step  100: lr 1.00e-03
	// step  600: lr 5.50e-04
	// step 1100: lr 1.00e-04
}

func ExampleClipGradNorm() {
	a := autograd.NewParam(autograd.Float32, "a", 2)
	b := autograd.NewParam(autograd.Float32, "b", 1)
	copy(autograd.Grads[float32](a), []float32{3, 4})
	autograd.Grads[float32](b)[0] = 12
	norm := optim.ClipGradNorm([]*autograd.Tensor{a, b}, 6.5)
	fmt.Println(norm, autograd.Grads[float32](a), autograd.Grads[float32](b))
	// Output: 13 [1.5 2] [6]
}

func ExampleGradsFinite() {
	a := autograd.NewParam(autograd.Float32, "layers.0.mlp.weight", 2)
	autograd.Grads[float32](a)[1] = float32(math.NaN())
	ok, bad := optim.GradsFinite([]*autograd.Tensor{a})
	fmt.Println(ok, bad)
	// Output: false layers.0.mlp.weight
}
