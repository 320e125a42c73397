package upcycle

import (
	"math"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestConvertDrop: every expert re-initialises exactly round(drop_ratio·F) neurons (their rows of w1
// and w3 and their columns of w2, entirely) and keeps the others as copies; the sets differ between
// experts; and the re-initialised entries of each matrix have the source matrix's mean and standard
// deviation. The source matrices are moved to distinct means (about 0.5, -0.3, 0.2) and spreads so
// that a draw from the wrong matrix, or from N(0, init_std²), shows. With n entries drawn, the
// sample mean is within 5σ/√n of μ and the sample std within 5σ/√(2n) of σ, except with probability
// below 1e-6 each (the seed is fixed, so the test is deterministic).
func TestConvertDrop(t *testing.T) {
	const ne, f, d, ratio = 8, 128, 32, 0.3
	dense := loadConfig(t, "model.d_model=32", "model.ffn_hidden_size=128")
	src := newSource(t, "dense", dense, autograd.Float64, 8)
	mu, sd := [3]float64{0.5, -0.3, 0.2}, [3]float64{0.3, 0.2, 0.1}
	for _, blk := range src.Model.Blocks {
		for k, p := range blk.MLP.Params() { // w1, w3, w2
			for i := range p.Len() {
				p.Set(i, mu[k]+sd[k]*p.At(i)/0.3)
			}
		}
	}
	res := mustConvert(t, moeTarget(t, "model.d_model=32", "model.ffn_hidden_size=128", "moe.num_experts=8", "moe.top_k=2",
		"moe.expert_ffn_hidden_size=128", "upcycle.method=drop", "upcycle.drop_ratio=0.3"), src)
	want := int(math.Round(ratio * f)) // 38
	for _, i := range res.Converted {
		mlp, x := src.Model.Blocks[i].MLP, res.Model.Blocks[i].MoE.Experts
		var drawn [3][]float64 // the re-initialised entries of w1, w3, w2 over all experts
		var sets [][]int
		for e := range ne {
			var set []int
			for n := range f {
				rows := [3][]float64{expertRow(x.W1, e, n), expertRow(x.W3, e, n), column(x.W2, e, n)}
				orig := [3][]float64{expertRow(mlp.W1.W, 0, n), expertRow(mlp.W3.W, 0, n), column(mlp.W2.W, 0, n)}
				kept, changed := 0, 0
				for k := range 3 {
					for c := range d {
						if rows[k][c] == orig[k][c] {
							kept++
						} else {
							changed++
						}
					}
				}
				switch {
				case changed == 0:
				case kept == 0:
					set = append(set, n)
					for k := range 3 {
						drawn[k] = append(drawn[k], rows[k]...)
					}
				default:
					t.Fatalf("layer %d expert %d neuron %d: %d entries re-initialised and %d kept; a neuron is dropped whole", i, e, n, changed, kept)
				}
			}
			if len(set) != want {
				t.Errorf("layer %d expert %d: %d neurons re-initialised, want round(%g x %d) = %d", i, e, len(set), ratio, f, want)
			}
			for _, other := range sets {
				if slices.Equal(other, set) {
					t.Errorf("layer %d expert %d: the same neurons as another expert", i, e)
				}
			}
			sets = append(sets, set)
		}
		for k, p := range mlp.Params() {
			n := float64(len(drawn[k]))
			wantMu, wantSd := meanStd(p)
			m, s := meanStd(autograd.FromSlice(drawn[k], len(drawn[k])))
			if math.Abs(m-wantMu) > 5*wantSd/math.Sqrt(n) || math.Abs(s-wantSd) > 5*wantSd/math.Sqrt(2*n) {
				t.Errorf("layer %d %s: re-initialised entries have mean %.4f std %.4f, the source matrix %.4f and %.4f (n = %d)",
					i, p.Name, m, s, wantMu, wantSd, int(n))
			}
		}
	}
}

// TestConvertDropRatioEnds: drop_ratio 0 is copy, and 1 re-initialises every neuron of every expert.
func TestConvertDropRatioEnds(t *testing.T) {
	dense := loadConfig(t)
	src := newSource(t, "dense", dense, autograd.Float64, 9)
	base := []string{"moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32"}
	cp := mustConvert(t, moeTarget(t, base...), src)
	none := mustConvert(t, moeTarget(t, append(base, "upcycle.method=drop", "upcycle.drop_ratio=0")...), src)
	all := mustConvert(t, moeTarget(t, append(base, "upcycle.method=drop", "upcycle.drop_ratio=1")...), src)
	for _, i := range cp.Converted {
		if !slices.Equal(values(none.Model.Blocks[i].MoE.Experts.W1), values(cp.Model.Blocks[i].MoE.Experts.W1)) {
			t.Errorf("layer %d: drop_ratio 0 differs from copy", i)
		}
		a, c := values(all.Model.Blocks[i].MoE.Experts.W1), values(cp.Model.Blocks[i].MoE.Experts.W1)
		for k := range a {
			if a[k] == c[k] {
				t.Fatalf("layer %d: drop_ratio 1 kept w1 entry %d", i, k)
			}
		}
	}
}
