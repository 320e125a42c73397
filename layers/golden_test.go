package layers

import (
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/router"
)

// TestGoldenPyTorch loads the weights, tokens and results written by
// tools/golden_model.py (PyTorch, float64) and checks that our model gives the
// same logits, losses and parameter gradients, in float64 and in float32.
func TestGoldenPyTorch(t *testing.T) {
	const path = "../testdata/golden_tiny.safetensors"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s missing: regenerate with python3 tools/golden_model.py", path)
	}
	ref, meta, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	mi := func(k string) int { v, _ := strconv.Atoi(meta[k]); return v }
	mf := func(k string) float64 { v, _ := strconv.ParseFloat(meta[k], 64); return v }
	cfg := Config{
		Vocab: mi("V"), DModel: mi("D"), Layers: mi("L"), Heads: mi("H"), KVHeads: mi("HKV"), FFNHidden: mi("F_DENSE"),
		MaxSeqLen: mi("T"), RopeTheta: mf("THETA"), NormEps: mf("EPS"), MoELayers: []bool{false, true},
		Experts: []int{0, mi("E")}, ExpertFFN: mi("F_EXP"),
		Router: router.Config{TopK: mi("K"), Type: "topk_softmax", Normalize: true},
	}
	b, tl := mi("B"), mi("T")
	tokens, targets := make([]int32, b*tl), make([]int32, b*tl)
	for i := range tokens {
		tokens[i], targets[i] = int32(ref["tokens"].At(i)), int32(ref["targets"].At(i))
	}
	for _, tc := range []struct {
		dt  autograd.DType
		tol float64
	}{{autograd.Float64, 1e-9}, {autograd.Float32, 1e-4}} {
		m, err := New(cfg, tc.dt, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			r, ok := ref[p.Name]
			if !ok {
				t.Fatalf("golden file has no tensor %q", p.Name)
			}
			if r.Len() != p.Len() {
				t.Fatalf("%s: golden %v, model %v", p.Name, r.Shape(), p.Shape())
			}
			for i := 0; i < p.Len(); i++ {
				p.Set(i, r.At(i))
			}
		}
		tp := autograd.NewTape()
		out := m.Forward(tp, tokens, b, tl, ForwardOptions{})
		loss := m.Loss(tp, out, targets, LossConfig{AuxCoeff: mf("AUX"), ZCoeff: mf("ZC"), IgnoreIdx: -100})
		if err := tp.Backward(loss.Total); err != nil {
			t.Fatal(err)
		}
		compare := func(name string, got *autograd.Tensor, grad bool) {
			want := ref[name]
			var d2, w2 float64
			for i := 0; i < want.Len(); i++ {
				g := got.At(i)
				if grad {
					g = got.GradAt(i)
				}
				d2 += (g - want.At(i)) * (g - want.At(i))
				w2 += want.At(i) * want.At(i)
			}
			if rel := math.Sqrt(d2) / math.Max(math.Sqrt(w2), 1e-30); rel > tc.tol {
				t.Errorf("%v %s: relative error %.3g > %g", tc.dt, name, rel, tc.tol)
			}
		}
		compare("logits", out.Logits, false)
		compare("loss", loss.Total, false)
		compare("lm_loss", loss.LM, false)
		compare("aux_loss", loss.Aux, false)
		compare("z_loss", loss.Z, false)
		for _, p := range m.Params() {
			compare("grad."+p.Name, p, true)
		}
	}
}
