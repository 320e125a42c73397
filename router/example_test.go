package router_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Route four tokens to the top two of four experts and read the plan a
// dispatcher follows.
func ExampleRouter_Route() {
	r, err := router.New(router.DefaultConfig(4, 2), 4, 0.02, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	// Make gate row e pick out input feature e, so token t prefers expert t
	// and then expert (t+1)%4.
	gate := r.Params()[0].F32() // [E, D]
	clear(gate)
	for e := 0; e < 4; e++ {
		gate[e*4+e] = 1
	}
	x := autograd.FromSlice([]float32{ // [N, D]
		2, 1, 0, 0,
		0, 2, 1, 0,
		0, 0, 2, 1,
		1, 0, 0, 2,
	}, 4, 4)
	rt := r.Route(autograd.NewNoGradTape(), x, false, nil)
	fmt.Println("experts:", rt.Experts)
	fmt.Println("tokens per expert:", rt.TokensPerExpert)
	for e := 0; e < 4; e++ {
		fmt.Printf("expert %d slots: %v\n", e, rt.Order[rt.Offsets[e]:rt.Offsets[e+1]])
	}
	fmt.Printf("token 0 weights: %.3f %.3f\n", rt.Weights.At(0), rt.Weights.At(1))
	// Output:
	// experts: [0 1 1 2 2 3 3 0]
	// tokens per expert: [2 2 2 2]
	// expert 0 slots: [0 7]
	// expert 1 slots: [1 2]
	// expert 2 slots: [3 4]
	// expert 3 slots: [5 6]
	// token 0 weights: 0.731 0.269
}
