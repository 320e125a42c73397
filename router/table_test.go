package router

import (
	"slices"
	"testing"
)

// checkTable verifies a routing's slot table against its choices: the
// groups are bounded by Offsets, each slot is one of its token's choices and
// lies in its expert's group, tokens ascend within a group, no choice is
// listed twice, and the kept and dropped choices add up to C.
func checkTable(t *testing.T, rt *Routing, e int) {
	t.Helper()
	m := len(rt.Token)
	if len(rt.Expert) != m || rt.Weight.Dim(0) != m || len(rt.Offsets) != e+1 || rt.Offsets[0] != 0 || rt.Offsets[e] != m {
		t.Fatalf("table of %d tokens, %d experts, %v weights, offsets %v", m, len(rt.Expert), rt.Weight.Shape(), rt.Offsets)
	}
	seen := map[[2]int32]bool{}
	for ex := 0; ex < e; ex++ {
		for s := rt.Offsets[ex]; s < rt.Offsets[ex+1]; s++ {
			tok := rt.Token[s]
			if rt.Expert[s] != int32(ex) {
				t.Fatalf("slot %d of expert %d lies in expert %d's group", s, rt.Expert[s], ex)
			}
			if s > rt.Offsets[ex] && rt.Token[s-1] >= tok {
				t.Fatalf("expert %d's tokens %v do not ascend", ex, rt.Token[rt.Offsets[ex]:rt.Offsets[ex+1]])
			}
			if !slices.Contains(rt.Choices[rt.ChoiceOffsets[tok]:rt.ChoiceOffsets[tok+1]], int32(ex)) {
				t.Fatalf("slot %d sends token %d to expert %d, which it did not choose", s, tok, ex)
			}
			if seen[[2]int32{tok, int32(ex)}] {
				t.Fatalf("token %d listed twice under expert %d", tok, ex)
			}
			seen[[2]int32{tok, int32(ex)}] = true
		}
	}
	if c := len(rt.Choices); c != m+rt.Dropped || rt.ChoiceOffsets[len(rt.ChoiceOffsets)-1] != c {
		t.Fatalf("%d choices (offsets end %d), %d kept and %d dropped", c, rt.ChoiceOffsets[len(rt.ChoiceOffsets)-1], m, rt.Dropped)
	}
}

// choiceWeights returns the combine weight of every choice [C], in
// Choices' order, 0 for a dropped one.
func choiceWeights(rt *Routing) []float64 {
	w := make([]float64, len(rt.Choices))
	for s, tok := range rt.Token {
		for c := rt.ChoiceOffsets[tok]; c < rt.ChoiceOffsets[tok+1]; c++ {
			if rt.Choices[c] == rt.Expert[s] {
				w[c] = rt.Weight.At(s)
			}
		}
	}
	return w
}

// kept reports whether choice c (of token tok) is in the slot table.
func kept(rt *Routing, tok, c int) bool {
	ex := rt.Choices[c]
	for s := rt.Offsets[ex]; s < rt.Offsets[ex+1]; s++ {
		if rt.Token[s] == int32(tok) {
			return true
		}
	}
	return false
}

// checkSlotTable verifies slotTable's result against its inputs: exactly the
// kept choices, each in its expert's group, ascending choice index within a
// group, with their tokens and experts.
func checkSlotTable(t *testing.T, choices, tokenOf []int32, keep []bool, e int, choice, token, expert []int32, offsets []int) {
	t.Helper()
	if len(offsets) != e+1 || offsets[0] != 0 || offsets[e] != len(choice) || len(token) != len(choice) || len(expert) != len(choice) {
		t.Fatalf("offsets %v do not bound %d slots (%d tokens, %d experts)", offsets, len(choice), len(token), len(expert))
	}
	seen := make([]bool, len(choices))
	for ex := 0; ex < e; ex++ {
		for s := offsets[ex]; s < offsets[ex+1]; s++ {
			c := choice[s]
			if choices[c] != int32(ex) || expert[s] != int32(ex) || token[s] != tokenOf[c] {
				t.Fatalf("slot %d: choice %d of expert %d (token %d) listed as expert %d token %d in group %d", s, c, choices[c], tokenOf[c], expert[s], token[s], ex)
			}
			if s > offsets[ex] && choice[s-1] >= c {
				t.Fatalf("expert %d group %v not ascending", ex, choice[offsets[ex]:offsets[ex+1]])
			}
			if seen[c] {
				t.Fatalf("choice %d listed twice", c)
			}
			seen[c] = true
		}
	}
	for c := range choices {
		if k := keep == nil || keep[c]; seen[c] != k {
			t.Fatalf("choice %d: listed %v, kept %v", c, seen[c], k)
		}
	}
}

func TestChoiceCountsAndLoad(t *testing.T) {
	// Four tokens over E = 3 with 1, 2, 0 and 2 choices; token 1's choice of
	// expert 2 was dropped.
	rt := &Routing{
		Choices:       []int32{0, 2, 1, 2, 0},
		ChoiceOffsets: []int{0, 1, 3, 3, 5},
		Token:         []int32{0, 3, 1, 3},
		Expert:        []int32{0, 0, 1, 2},
		Offsets:       []int{0, 2, 3, 4},
		Dropped:       1,
	}
	if got := rt.ChoiceCounts(4); !slices.Equal(got, []int{2, 1, 2}) {
		t.Errorf("batch counts %v, want [2 1 2]", got)
	}
	if got := rt.ChoiceCounts(2); !slices.Equal(got, []int{1, 1, 1, 1, 0, 1}) {
		t.Errorf("per-sequence counts %v, want [1 1 1 1 0 1]", got)
	}
	if got := rt.TokensPerExpert(); !slices.Equal(got, []int{2, 1, 1}) {
		t.Errorf("tokens per expert %v, want [2 1 1]", got)
	}
	if rt.Tokens() != 4 || rt.Slots() != 4 || (&Routing{}).Tokens() != 0 {
		t.Errorf("Tokens %d Slots %d, want 4 and 4", rt.Tokens(), rt.Slots())
	}
	for _, seqLen := range []int{0, 3} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ChoiceCounts(%d) did not panic", seqLen)
				}
			}()
			rt.ChoiceCounts(seqLen)
		}()
	}
}
