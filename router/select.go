package router

import (
	"math"
	"slices"

	"github.com/moetrain/moetrain/autograd"
)

// selectTopK writes into experts [N*K] the k highest-scoring experts of each
// row of scores [N, E], in descending score order, ties to the lower expert
// index. bias [E] (nil for none) is added to every score; with sigmoid set the
// score of logit l is sigmoid(l) + bias.
func selectTopK[T autograd.Float](scores []T, bias []float32, sigmoid bool, n, e, k int, experts []int32) {
	vals := make([]float64, k) // scores of the row's current choices, descending
	for row := 0; row < n; row++ {
		sc := scores[row*e : (row+1)*e]
		idx := experts[row*k : (row+1)*k]
		filled := 0
		for j, raw := range sc {
			v := float64(raw)
			if sigmoid {
				v = 1 / (1 + math.Exp(-v))
			}
			if bias != nil {
				v += float64(bias[j])
			}
			if filled == k && !(v > vals[k-1]) {
				continue
			}
			p := filled
			if filled < k {
				filled++
			} else {
				p = k - 1
			}
			for ; p > 0 && vals[p-1] < v; p-- {
				vals[p], idx[p] = vals[p-1], idx[p-1]
			}
			vals[p], idx[p] = v, int32(j)
		}
	}
}

// applyCapacity enforces capacity slots per expert (0 = unlimited) over the
// choices [C], tokenOf [C] naming each choice's token. An expert chosen more
// often keeps the choices with the highest probs [N, E] entry (ties to the
// lower choice index) and drops the rest. It returns keep [C], nil when
// nothing is dropped, and the number of dropped choices.
func applyCapacity[T autograd.Float](probs []T, choices, tokenOf []int32, e, capacity int) ([]bool, int) {
	if capacity == 0 {
		return nil, 0
	}
	offsets := make([]int, e+1)
	for _, ex := range choices {
		offsets[ex+1]++
	}
	over := false
	for ex := 0; ex < e; ex++ {
		over = over || offsets[ex+1] > capacity
		offsets[ex+1] += offsets[ex]
	}
	if !over {
		return nil, 0
	}
	grouped := groupByExpert(choices, nil, offsets)
	keep := make([]bool, len(choices))
	for c := range keep {
		keep[c] = true
	}
	dropped := 0
	for ex := 0; ex < e; ex++ {
		seg := grouped[offsets[ex]:offsets[ex+1]]
		if len(seg) <= capacity {
			continue
		}
		// seg is in ascending choice order; a stable sort by descending
		// prob keeps the lower choice first among equal probs.
		slices.SortStableFunc(seg, func(a, b int32) int {
			pa, pb := probs[int(tokenOf[a])*e+ex], probs[int(tokenOf[b])*e+ex]
			switch {
			case pa > pb:
				return -1
			case pa < pb:
				return 1
			}
			return 0
		})
		for _, c := range seg[capacity:] {
			keep[c] = false
		}
		dropped += len(seg) - capacity
	}
	return keep, dropped
}

// slotTable builds the slot table over the kept choices (all when keep is
// nil), grouped by expert and stable in the choice index: each slot's choice
// index, token and expert [M], and the group offsets [E+1].
func slotTable(choices, tokenOf []int32, keep []bool, e int) (choice, token, expert []int32, offsets []int) {
	offsets = make([]int, e+1)
	for c, ex := range choices {
		if keep == nil || keep[c] {
			offsets[ex+1]++
		}
	}
	for ex := 0; ex < e; ex++ {
		offsets[ex+1] += offsets[ex]
	}
	choice = groupByExpert(choices, keep, offsets)
	token, expert = make([]int32, len(choice)), make([]int32, len(choice))
	for ex := 0; ex < e; ex++ {
		for m := offsets[ex]; m < offsets[ex+1]; m++ {
			token[m], expert[m] = tokenOf[choice[m]], int32(ex)
		}
	}
	return choice, token, expert, offsets
}

// groupByExpert is a counting sort of the kept choices by expert, stable in
// the choice index; offsets [E+1] must hold the kept group bounds.
func groupByExpert(choices []int32, keep []bool, offsets []int) []int32 {
	e := len(offsets) - 1
	order := make([]int32, offsets[e])
	next := make([]int, e)
	copy(next, offsets[:e])
	for c, ex := range choices {
		if keep == nil || keep[c] {
			order[next[ex]] = int32(c)
			next[ex]++
		}
	}
	return order
}
