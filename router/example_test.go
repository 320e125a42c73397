package router_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Route four tokens to the top two of four experts and read the slot table
// a dispatcher follows.
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
	fmt.Println("choices:", rt.Choices)
	fmt.Println("tokens per expert:", rt.TokensPerExpert())
	for e := 0; e < 4; e++ {
		fmt.Printf("expert %d tokens: %v\n", e, rt.Token[rt.Offsets[e]:rt.Offsets[e+1]])
	}
	for s := range rt.Slots() {
		if rt.Token[s] == 0 {
			fmt.Printf("token 0 to expert %d with weight %.3f\n", rt.Expert[s], rt.Weight.At(s))
		}
	}
	// Output:
	// choices: [0 1 1 2 2 3 3 0]
	// tokens per expert: [2 2 2 2]
	// expert 0 tokens: [0 3]
	// expert 1 tokens: [0 1]
	// expert 2 tokens: [1 2]
	// expert 3 tokens: [2 3]
	// token 0 to expert 0 with weight 0.731
	// token 0 to expert 1 with weight 0.269
}
