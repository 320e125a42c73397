package router

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
)

// Routing is the router's decision for one batch of N tokens. Its tensors
// live on the tape Route ran on; its slices are owned by the Routing and do
// not change after Route returns, so the tape may keep them for Backward.
//
// The slot table (Token, Expert, Weight, Offsets) is the plan a dispatcher
// follows: one row per kept slot, grouped by expert, tokens ascending within
// a group. The choices (Choices, ChoiceOffsets) list every expert each token
// chose, dropped ones included: the load-balancing input.
type Routing struct {
	Logits *autograd.Tensor // [N, E] router logits (the z-loss input)
	Probs  *autograd.Tensor // [N, E] per-token expert distribution (the load-balancing input)

	Token  []int32          // [M] token of each kept slot
	Expert []int32          // [M] expert of each kept slot, non-decreasing
	Weight *autograd.Tensor // [M, 1] combine weight of each kept slot, differentiable
	// Offsets bounds the expert groups: expert e's slots are rows
	// Offsets[e] to Offsets[e+1] of the table.
	Offsets []int // [E+1]

	// Choices holds every token's chosen experts, highest selection score
	// first: token n's are Choices[ChoiceOffsets[n]:ChoiceOffsets[n+1]].
	Choices       []int32 // [C]
	ChoiceOffsets []int   // [N+1]

	Dropped  int // choices dropped by capacity (C - M)
	Capacity int // slots per expert; 0 when dropless

	base *autograd.Tensor // [N, E] Probs = softmax(base) per row, or nil
}

// Tokens returns N, the number of routed tokens (0 for a Routing without
// choices).
func (rt *Routing) Tokens() int { return max(len(rt.ChoiceOffsets)-1, 0) }

// Slots returns M, the number of kept slots.
func (rt *Routing) Slots() int { return len(rt.Token) }

// TokensPerExpert returns the kept slots of each expert [E], a new slice.
func (rt *Routing) TokensPerExpert() []int {
	e := len(rt.Offsets) - 1
	load := make([]int, max(e, 0))
	for ex := range load {
		load[ex] = rt.Offsets[ex+1] - rt.Offsets[ex]
	}
	return load
}

// ChoiceCounts returns how many of each sequence's choices went to each
// expert, dropped choices included, [N/seqLen, E] row-major, for sequences
// of seqLen consecutive tokens; seqLen = N gives the batch's counts [E]. It
// panics if seqLen < 1 or does not divide N.
func (rt *Routing) ChoiceCounts(seqLen int) []int {
	n, e := rt.Tokens(), len(rt.Offsets)-1
	if seqLen < 1 || n%seqLen != 0 {
		panic(fmt.Sprintf("router.ChoiceCounts: sequence length %d does not divide %d tokens", seqLen, n))
	}
	counts := make([]int, n/seqLen*e)
	for tok := 0; tok < n; tok++ {
		row := counts[tok/seqLen*e : (tok/seqLen+1)*e]
		for _, ex := range rt.Choices[rt.ChoiceOffsets[tok]:rt.ChoiceOffsets[tok+1]] {
			row[ex]++
		}
	}
	return counts
}
