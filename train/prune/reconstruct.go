package prune

import (
	"fmt"
	"math"
	"slices"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// search is the subset reconstruction chose for one layer.
type search struct {
	kept       []int   // [P] ascending
	err, ref   float64 // squared error of its output, squared norm of the full output
	exhaustive bool
	subsets    int // subsets scored
}

// reconstruct chooses the p experts of moe whose output on inputs (the
// layer's inputs [N, D] in the full model, one tensor per batch), computed
// with only them available, is closest in squared error to the full layer's
// output: over all C(E, p) subsets when there are at most maxSubsets of
// them (ties to the first in lexicographic order), else greedily.
func reconstruct(moe *layers.MoE, inputs []*autograd.Tensor, p, maxSubsets int) (search, error) {
	e := moe.Experts.Count()
	if n := binomial(e, p, maxSubsets+1); n <= maxSubsets {
		subsets := combinations(e, p)
		errs, ref, err := subsetErrors(moe, inputs, subsets)
		if err != nil {
			return search{}, err
		}
		best := 0
		for i, v := range errs {
			if v < errs[best] {
				best = i
			}
		}
		return search{kept: subsets[best], err: errs[best], ref: ref, exhaustive: true, subsets: len(subsets)}, nil
	}
	return greedy(moe, inputs, p)
}

// greedy starts from all E experts and drops one at a time, the one whose
// removal gives the smallest error of the layer output with the rest (ties
// drop the higher index), until p are left.
func greedy(moe *layers.MoE, inputs []*autograd.Tensor, p int) (search, error) {
	cur := make([]int, moe.Experts.Count())
	for i := range cur {
		cur[i] = i
	}
	s := search{}
	for len(cur) > p {
		cands := make([][]int, len(cur)) // cands[j]: cur without cur[j]
		for j := range cur {
			cands[j] = slices.Delete(slices.Clone(cur), j, j+1)
		}
		errs, ref, err := subsetErrors(moe, inputs, cands)
		if err != nil {
			return search{}, err
		}
		best := len(cands) - 1
		for j := best - 1; j >= 0; j-- {
			if errs[j] < errs[best] {
				best = j
			}
		}
		cur, s.err, s.ref = cands[best], errs[best], ref
		s.subsets += len(cands)
	}
	s.kept = cur
	return s, nil
}

// subsetErrors returns, for every subset of moe's experts (ascending
// indices), the squared error between the layer's routed output with only
// that subset available and with all experts, summed over the tokens of
// inputs ([N, D] each), and the squared norm of the full routed output. The
// shared experts add the same term to both and are left out. Each batch
// runs every expert on every token once; a subset then costs one masked
// routing and a weighted sum.
func subsetErrors(moe *layers.MoE, inputs []*autograd.Tensor, subsets [][]int) ([]float64, float64, error) {
	routers := make([]*router.Router, len(subsets))
	for i, s := range subsets {
		r, err := moe.Router.Masked(s)
		if err != nil {
			return nil, 0, err
		}
		routers[i] = r
	}
	errs := make([]float64, len(subsets))
	ref := 0.0
	tp := autograd.NewNoGradTape()
	var full, out []float64 // [N*D] routed outputs of the full and the masked layer
	for _, x := range inputs {
		n, d := x.Dim(0), x.Dim(1)
		y := expertOutputs(tp, moe.Experts, x) // [E*N*D]
		full = combine(full, moe.Router.Route(tp, x, false, nil), y, n, d)
		tp.Reset()
		for i, r := range routers {
			out = combine(out, r.Route(tp, x, false, nil), y, n, d)
			tp.Reset()
			errs[i] += sqDist(out, full)
		}
		ref += sqDist(full, nil)
	}
	for i, v := range errs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, fmt.Errorf("the layer output with experts %v is not finite (error %v): the model's weights or inputs overflow", subsets[i], v)
		}
	}
	return errs, ref, nil
}

// expertOutputs runs every expert of ex on every row of x [N, D] and
// returns the outputs as float64 [E*N*D]: expert e's output for token n is
// row e*N+n.
func expertOutputs(tp *autograd.Tape, ex *layers.Experts, x *autograd.Tensor) []float64 {
	e, n := ex.Count(), x.Dim(0)
	copies := make([]*autograd.Tensor, e)
	offsets := make([]int, e+1) // [E+1] expert e's rows are e*N to (e+1)*N
	for i := range copies {
		copies[i] = x
		offsets[i+1] = (i + 1) * n
	}
	y := ex.Forward(tp, tp.Concat(0, copies...), offsets, false, nil) // [E*N, D]
	out := make([]float64, y.Len())
	if y.DType() == autograd.Float64 {
		copy(out, y.F64())
	} else {
		for i, v := range y.F32() {
			out[i] = float64(v)
		}
	}
	tp.Reset()
	return out
}

// combine writes into dst (grown to [N*D]) the routed output of rt over
// the expert outputs y [E*N*D]: each token's sum of its kept slots' weight
// times their expert's output.
func combine(dst []float64, rt *router.Routing, y []float64, n, d int) []float64 {
	dst = slices.Grow(dst[:0], n*d)[:n*d]
	clear(dst)
	for s, tok := range rt.Token {
		w := rt.Weight.At(s)
		row := y[(int(rt.Expert[s])*n+int(tok))*d:][:d]
		acc := dst[int(tok)*d:][:d]
		for j, v := range row {
			acc[j] += w * v
		}
	}
	return dst
}

// sqDist returns sum (a - b)^2, with a nil b read as zeros.
func sqDist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		if b != nil {
			v -= b[i]
		}
		s += v * v
	}
	return s
}

// combinations returns every p-subset of [0, e) in lexicographic order,
// each ascending.
func combinations(e, p int) [][]int {
	var out [][]int
	cur := make([]int, p)
	for i := range cur {
		cur[i] = i
	}
	for {
		out = append(out, slices.Clone(cur))
		i := p - 1
		for i >= 0 && cur[i] == e-p+i {
			i--
		}
		if i < 0 {
			return out
		}
		cur[i]++
		for j := i + 1; j < p; j++ {
			cur[j] = cur[j-1] + 1
		}
	}
}

// binomial returns C(n, k), or limit when it is at least limit (no
// overflow).
func binomial(n, k, limit int) int {
	k = min(k, n-k)
	c := 1
	for i := 1; i <= k; i++ {
		c = c * (n - k + i) / i // exact: a product of i consecutive integers is divisible by i!
		if c >= limit {
			return limit
		}
	}
	return c
}
