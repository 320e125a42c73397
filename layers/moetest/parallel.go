package moetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Gather is one rank's view of an all-gather of one float64 per rank: it
// returns every rank's v [W], in rank order, bit for bit. Every rank of the
// group calls it the same number of times, in the same order.
type Gather func(v float64) ([]float64, error)

// GradCheckRanks is autograd.GradCheck for a layer whose ranks compute
// together, as an expert-parallel MoE layer does: every rank of a group
// calls it at once, each with its own f and float64 inputs (a rank's inputs
// may differ in length from its peers'; their count must agree). The loss is
// L = sum over ranks of a fixed random projection of the rank's f, and each
// input element on each rank is a separate variable. Analytic gradients come
// from one backward pass on every rank; the numeric ones from central
// differences of L, with every rank evaluating f for every perturbation of
// any rank's element (only its owner perturbs it), so that all ranks run f,
// and its collectives, equally often. It returns the worst normwise relative
// error over this rank's inputs that require grad.
//
// A rank's analytic gradient of a tensor it shares with no one equals
// dL/d(element) when every contribution of other ranks' losses reaches it
// through the layer's backward exchanges: for an expert shard, the sum over
// every rank's tokens; for a replicated tensor, this rank's share only.
func GradCheckRanks(f autograd.GradFunc, inputs []*autograd.Tensor, eps float64, rank int, gather Gather) (float64, error) {
	for i, in := range inputs {
		if in.DType() != autograd.Float64 {
			return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: input %d (%q) is %v, want float64", rank, i, in.Name, in.DType())
		}
	}
	counts, err := gather(float64(len(inputs)))
	if err != nil {
		return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: exchanging input counts: %w", rank, err)
	}
	for r, c := range counts {
		if int(c) != len(inputs) {
			return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d has %d inputs, rank %d has %d: give every rank the same inputs", r, int(c), rank, len(inputs))
		}
	}
	// lens[i][r] is the number of elements of rank r's input i to perturb
	// (0 when it does not require grad).
	lens := make([][]float64, len(inputs))
	for i, in := range inputs {
		n := 0
		if in.RequiresGrad() {
			n = in.Len()
		}
		if lens[i], err = gather(float64(n)); err != nil {
			return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: exchanging the length of input %d: %w", rank, i, err)
		}
	}
	var proj *autograd.Tensor // [output shape] this rank's projection
	loss := func(tp *autograd.Tape) *autograd.Tensor {
		out := f(tp, inputs)
		if proj == nil {
			proj = autograd.RandN(rand.New(rand.NewPCG(7, 11+uint64(rank))), 1, out.Shape()...)
		}
		return tp.Sum(tp.Mul(out, proj))
	}
	for _, in := range inputs {
		in.ZeroGrad()
	}
	tp := autograd.NewTape()
	if err := tp.Backward(loss(tp)); err != nil {
		return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: backward: %w", rank, err)
	}
	analytic := make([][]float64, len(inputs))
	for i, in := range inputs {
		if in.RequiresGrad() {
			analytic[i] = make([]float64, in.Len())
			for j := range analytic[i] {
				analytic[i][j] = in.GradAt(j)
			}
		}
	}
	tp.Reset()
	// total evaluates L, every rank's loss summed in rank order.
	total := func() (float64, error) {
		ng := autograd.NewNoGradTape()
		v := loss(ng).At(0)
		ng.Reset()
		all, err := gather(v)
		if err != nil {
			return 0, err
		}
		s := 0.0
		for _, x := range all {
			s += x
		}
		return s, nil
	}
	worst := 0.0
	for i, in := range inputs {
		var diff2, a2, n2 float64
		for owner, n := range lens[i] {
			for j := range int(n) {
				mine := owner == rank
				// at returns L with this rank's element j of input i moved
				// by delta when this rank owns it.
				at := func(delta float64) (float64, error) {
					if !mine {
						return total()
					}
					orig := in.At(j)
					in.Set(j, orig+delta)
					defer in.Set(j, orig)
					return total()
				}
				fp, err := at(eps)
				if err != nil {
					return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: evaluating the loss: %w", rank, err)
				}
				fm, err := at(-eps)
				if err != nil {
					return 0, fmt.Errorf("moetest.GradCheckRanks: rank %d: evaluating the loss: %w", rank, err)
				}
				if !mine {
					continue
				}
				num := (fp - fm) / (2 * eps)
				d := analytic[i][j] - num
				diff2 += d * d
				a2 += analytic[i][j] * analytic[i][j]
				n2 += num * num
			}
		}
		if analytic[i] == nil {
			continue
		}
		rel := math.Sqrt(diff2) / math.Max(math.Sqrt(max(a2, n2)), 1e-12)
		if math.IsNaN(rel) {
			return math.Inf(1), fmt.Errorf("moetest.GradCheckRanks: rank %d: input %d (%q): NaN gradient", rank, i, in.Name)
		}
		worst = max(worst, rel)
	}
	return worst, nil
}
