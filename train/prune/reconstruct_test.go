package prune

// Mutations caught (each tried):
//   - reconstruct.go reconstruct: keeping the worst subset (v > errs[best])
//     makes TestReconstructFindsBestSubset fail.
//   - reconstruct.go greedy: dropping the expert whose removal hurts most
//     makes the greedy half of TestReconstructFindsBestSubset fail.
//   - reconstruct.go combine: dropping the slot weight (adding the expert
//     output unweighted) makes the error values disagree with brute force.
//   - reconstruct.go combinations: stopping one subset early makes the
//     subset counts of TestReconstructFindsBestSubset and
//     TestBinomialAndCombinations fail.

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// handPruned builds, by hand, the MoE layer of moe's experts keep: a new
// layer of len(keep) experts whose router rows and expert weights are
// copied row by row, the shared experts whole. It shares no code with Apply.
func handPruned(t *testing.T, moe *layers.MoE, keep []int, shared int) *layers.MoE {
	t.Helper()
	rc := moe.Router.Config()
	rc.NumExperts, rc.TopK = len(keep), min(rc.TopK, len(keep))
	d, f := moe.Experts.W1.Dim(2), moe.Experts.W1.Dim(1)
	pm, err := layers.NewMoE(autograd.Float64, "layers.0.moe", layers.MoEConfig{Router: rc, DModel: d, ExpertFFN: f, SharedExperts: shared},
		0, 0, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]*autograd.Tensor{
		{pm.Router.Params()[0], moe.Router.Params()[0]},
		{pm.Experts.W1, moe.Experts.W1}, {pm.Experts.W3, moe.Experts.W3}, {pm.Experts.W2, moe.Experts.W2},
	}
	for _, pr := range pairs {
		dst, src := pr[0], pr[1]
		row := src.Len() / src.Dim(0)
		for j, e := range keep {
			for i := range row {
				dst.Set(j*row+i, src.At(e*row+i))
			}
		}
	}
	if shared > 0 {
		for i, p := range pm.Shared.Params() {
			copy(p.F64(), moe.Shared.Params()[i].F64())
		}
	}
	return pm
}

// bruteError returns sum over inputs of |layer(x) - moe(x)|^2, both run by
// their own Forward.
func bruteError(layer, moe *layers.MoE, inputs []*autograd.Tensor) float64 {
	tp := autograd.NewNoGradTape()
	s := 0.0
	for _, x := range inputs {
		a, _ := layer.Forward(tp, x, false, nil)
		b, _ := moe.Forward(tp, x, false, nil)
		for i := range a.Len() {
			d := a.At(i) - b.At(i)
			s += d * d
		}
		tp.Reset()
	}
	return s
}

// TestReconstructFindsBestSubset: on a layer of 5 experts the exhaustive
// search keeps the subset that brute force over hand-pruned layers finds
// best, with the same error; above the subset bound the search is greedy and
// matches a greedy walk over the brute-force errors.
func TestReconstructFindsBestSubset(t *testing.T) {
	sigmoid := router.Config{NumExperts: 5, TopK: 2, Type: router.Sigmoid}
	raw := router.DefaultConfig(5, 2)
	raw.Normalize = false
	for name, rc := range map[string]router.Config{"topk_softmax": router.DefaultConfig(5, 2), "raw": raw, "sigmoid": sigmoid} {
		t.Run(name, func(t *testing.T) {
			const e, d, f, shared = 5, 6, 4, 1
			rng := rand.New(rand.NewPCG(11, 5))
			moe, err := layers.NewMoE(autograd.Float64, "layers.0.moe", layers.MoEConfig{Router: rc, DModel: d, ExpertFFN: f, SharedExperts: shared}, 0.7, 0.7, rng)
			if err != nil {
				t.Fatal(err)
			}
			var inputs []*autograd.Tensor
			for range 3 {
				x := autograd.New(autograd.Float64, 7, d)
				for i := range x.Len() {
					x.Set(i, rng.NormFloat64())
				}
				inputs = append(inputs, x)
			}
			brute := map[string]float64{} // subset -> error
			key := func(s []int) string {
				return string(slices.Collect(func(yield func(byte) bool) {
					for _, v := range s {
						yield(byte('0' + v))
					}
				}))
			}
			for p := 1; p < e; p++ {
				for _, s := range combinations(e, p) {
					brute[key(s)] = bruteError(handPruned(t, moe, s, shared), moe, inputs)
				}
			}
			for p := 1; p < e; p++ {
				got, err := reconstruct(moe, inputs, p, 1000)
				if err != nil {
					t.Fatal(err)
				}
				var best []int
				for _, s := range combinations(e, p) {
					if best == nil || brute[key(s)] < brute[key(best)] {
						best = s
					}
				}
				if !got.exhaustive || got.subsets != len(combinations(e, p)) || !slices.Equal(got.kept, best) {
					t.Errorf("keep %d: exhaustive=%v over %d subsets kept %v; brute force's best is %v", p, got.exhaustive, got.subsets, got.kept, best)
				}
				if w := brute[key(best)]; math.Abs(got.err-w) > 1e-9*(1+w) {
					t.Errorf("keep %d: error %v, brute force %v", p, got.err, w)
				}
				// Greedy, from the brute-force errors: drop the expert whose
				// removal leaves the smallest error.
				cur := []int{0, 1, 2, 3, 4}
				for len(cur) > p {
					var next []int
					for j := range cur {
						c := slices.Delete(slices.Clone(cur), j, j+1)
						if next == nil || brute[key(c)] < brute[key(next)] {
							next = c
						}
					}
					cur = next
				}
				g, err := reconstruct(moe, inputs, p, 1) // C(5, p) >= 5 > 1: greedy
				if err != nil {
					t.Fatal(err)
				}
				if g.exhaustive || !slices.Equal(g.kept, cur) {
					t.Errorf("keep %d with bound 1: exhaustive=%v kept %v; greedy over brute force keeps %v", p, g.exhaustive, g.kept, cur)
				}
				if w := (e + p + 1) * (e - p) / 2; g.subsets != w {
					t.Errorf("keep %d greedy: %d subsets scored, want %d", p, g.subsets, w)
				}
			}
		})
	}
}

func TestBinomialAndCombinations(t *testing.T) {
	for _, tc := range []struct{ n, k, want int }{{8, 4, 70}, {5, 1, 5}, {5, 5, 1}, {64, 32, 5001}, {20, 10, 5001}, {16, 4, 1820}} {
		if got := binomial(tc.n, tc.k, 5001); got != tc.want {
			t.Errorf("binomial(%d, %d) = %d, want %d", tc.n, tc.k, got, tc.want)
		}
	}
	cs := combinations(5, 3)
	if len(cs) != 10 || !slices.Equal(cs[0], []int{0, 1, 2}) || !slices.Equal(cs[9], []int{2, 3, 4}) {
		t.Errorf("combinations(5, 3) = %v", cs)
	}
}

// TestPruneReconstruction: through Prune, every layer's reconstruction
// subset is at least as close as the frequency subset (it is the optimum),
// and its reported error is that subset's.
func TestPruneReconstruction(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) { c.MoE.SharedExperts = 1 })
	m := model64(t, c, 21)
	tokens := randomTokens(300, c.Model.VocabSize, 6)
	rec, err := Prune(c, m, tokens, Options{Keep: 2, Method: Reconstruction, Batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	freq, err := Prune(c, m, tokens, Options{Keep: 2, Method: Frequency, Batches: 4})
	if err != nil {
		t.Fatal(err)
	}
	batches := calibrationBatches(tokens, c.Train.MicroBatchSize, c.Train.SeqLen, 4)
	cal := calibrate(m, batches, true)
	for j, l := range rec.Layers {
		if !l.Exhaustive || l.Subsets != 6 || !(l.Reference > 0) {
			t.Errorf("layer %d: exhaustive=%v, %d subsets, reference %v; want exhaustive over C(4, 2) = 6", l.Index, l.Exhaustive, l.Subsets, l.Reference)
		}
		errs, _, err := subsetErrors(m.Blocks[l.Index].MoE, cal.inputs[j], [][]int{l.Kept, freq.Layers[j].Kept})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(errs[0]-l.Error) > 1e-9*l.Error || errs[0] > errs[1] {
			t.Errorf("layer %d: reconstruction %v error %v (reported %v), frequency %v error %v", l.Index, l.Kept, errs[0], l.Error, freq.Layers[j].Kept, errs[1])
		}
		if !slices.Equal(l.Usage, freq.Layers[j].Usage) {
			t.Errorf("layer %d: the two methods measured different usage", l.Index)
		}
	}
	for _, blk := range m.Blocks {
		if _, ok := blk.MoE.Dispatcher.(layers.LocalDispatcher); !ok {
			t.Errorf("calibration left dispatcher %T in the model", blk.MoE.Dispatcher)
		}
	}
}
