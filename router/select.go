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

// applyCapacity enforces capacity slots per expert (0 = unlimited). An expert
// chosen by more slots keeps those with the highest probs [N, E] entry (ties
// to the lower slot index) and drops the rest. It returns keep [M], nil when
// nothing is dropped, and the number of dropped slots.
func applyCapacity[T autograd.Float](probs []T, experts []int32, n, e, k, capacity int) ([]bool, int) {
	if capacity == 0 {
		return nil, 0
	}
	offsets := make([]int, e+1)
	for _, ex := range experts {
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
	grouped := groupByExpert(experts, nil, offsets)
	keep := make([]bool, n*k)
	for s := range keep {
		keep[s] = true
	}
	dropped := 0
	for ex := 0; ex < e; ex++ {
		seg := grouped[offsets[ex]:offsets[ex+1]]
		if len(seg) <= capacity {
			continue
		}
		// seg is in ascending slot order; a stable sort by descending prob
		// keeps the lower slot first among equal probs.
		slices.SortStableFunc(seg, func(a, b int32) int {
			pa, pb := probs[int(a)/k*e+ex], probs[int(b)/k*e+ex]
			switch {
			case pa > pb:
				return -1
			case pa < pb:
				return 1
			}
			return 0
		})
		for _, s := range seg[capacity:] {
			keep[s] = false
		}
		dropped += len(seg) - capacity
	}
	return keep, dropped
}

// plan builds the permutation plan over the kept slots (all slots when keep
// is nil): order grouped by expert in ascending slot order, the group
// offsets [E+1], and the kept slots per expert [E].
func plan(experts []int32, keep []bool, e int) (order []int32, offsets []int, perExpert []int) {
	offsets = make([]int, e+1)
	for s, ex := range experts {
		if keep == nil || keep[s] {
			offsets[ex+1]++
		}
	}
	perExpert = make([]int, e)
	for ex := 0; ex < e; ex++ {
		perExpert[ex] = offsets[ex+1]
		offsets[ex+1] += offsets[ex]
	}
	return groupByExpert(experts, keep, offsets), offsets, perExpert
}

// groupByExpert is a counting sort of the kept slots by expert, stable in the
// slot index; offsets [E+1] must hold the kept group bounds.
func groupByExpert(experts []int32, keep []bool, offsets []int) []int32 {
	e := len(offsets) - 1
	order := make([]int32, offsets[e])
	next := make([]int, e)
	copy(next, offsets[:e])
	for s, ex := range experts {
		if keep == nil || keep[s] {
			order[next[ex]] = int32(s)
			next[ex]++
		}
	}
	return order
}
