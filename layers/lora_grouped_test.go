package layers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// Mutations caught:
//   - groupedLinear back on the composition (GroupedMatMul + GroupedDelta +
//     Add): TestExpertsLoRAFused.
//   - Grouped passing x instead of drop(x) as the adapter's input, or
//     dropping the scale: TestExpertsLoRAFused.
//   - GroupedDelta's Scale dropped: TestExpertsLoRAFused.

// TestExpertsLoRAFused: experts adapted on w1, w3 and w2 run each adapted
// projection as one GroupedLoRA op and compute what the composition
// GroupedMatMul(x, W) + GroupedDelta(x) does, in eval and with adapter
// dropout in training (the same draws): the output, the input's and every
// adapter's gradient, and no gradient for the frozen weights.
func TestExpertsLoRAFused(t *testing.T) {
	offsets := []int{0, 5, 5, 12, 20}
	const e, d, f, m = 4, 6, 10, 20
	for _, dropout := range []float64{0, 0.4} {
		rng := rand.New(rand.NewPCG(51, 52))
		x := NewExperts(autograd.Float64, "experts", e, d, f, 0.5, 0.5, rng)
		for _, p := range x.Params() {
			p.SetRequiresGrad(false)
		}
		cfg := LoRAConfig{Rank: 3, Alpha: 5, Dropout: dropout}
		x.LoRA1, x.LoRA3, x.LoRA2 = newLoRA(x.W1, "w1", cfg, rng), newLoRA(x.W3, "w3", cfg, rng), newLoRA(x.W2, "w2", cfg, rng)
		adapters := []*autograd.Tensor{}
		for _, l := range []*LoRA{x.LoRA1, x.LoRA3, x.LoRA2} {
			for i := range l.B.Len() {
				l.B.Set(i, rng.NormFloat64()*0.5)
			}
			adapters = append(adapters, l.Params()...)
		}
		in := autograd.RandN(rng, 1, m, d)
		in.SetRequiresGrad(true)
		probe := autograd.RandN(rng, 1, m, d)
		training := dropout > 0
		composed := func(tp *autograd.Tape, rng *rand.Rand) *autograd.Tensor {
			lin := func(x, w *autograd.Tensor, l *LoRA) *autograd.Tensor {
				return tp.Add(tp.GroupedMatMul(x, w, offsets), l.GroupedDelta(tp, x, offsets, training, rng))
			}
			g, u := lin(in, x.W1, x.LoRA1), lin(in, x.W3, x.LoRA3)
			return lin(tp.SwiGLU(g, u), x.W2, x.LoRA2)
		}
		run := func(forward func(tp *autograd.Tape, rng *rand.Rand) *autograd.Tensor) ([]float64, [][]float64, []string) {
			tp := autograd.NewTape()
			y := forward(tp, rand.New(rand.NewPCG(61, 62)))
			out := slices.Clone(y.F64())
			if err := tp.Backward(tp.Sum(tp.Mul(y, probe))); err != nil {
				t.Fatal(err)
			}
			var grads [][]float64
			for _, p := range append([]*autograd.Tensor{in}, adapters...) {
				grads = append(grads, slices.Clone(p.Grad().F64()))
				p.ZeroGrad()
			}
			for _, w := range x.Params() {
				if w.HasGrad() {
					t.Fatalf("dropout %v: frozen %s got a gradient", dropout, w.Name)
				}
			}
			return out, grads, tp.Ops()
		}
		wantOut, wantGrads, _ := run(composed)
		gotOut, gotGrads, ops := run(func(tp *autograd.Tape, rng *rand.Rand) *autograd.Tensor {
			return x.Forward(tp, in, offsets, training, rng)
		})
		if n := count(ops, "GroupedLoRA"); n != 3 || count(ops, "GroupedMatMul") != 0 || count(ops, "Scale") != 0 {
			t.Fatalf("dropout %v: the adapted experts recorded %v, want three GroupedLoRA ops and no GroupedMatMul or Scale", dropout, ops)
		}
		check := func(what string, got, want []float64) {
			for i := range want {
				if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
					t.Fatalf("dropout %v: %s element %d: fused %v, composed %v", dropout, what, i, got[i], want[i])
				}
			}
		}
		check("output", gotOut, wantOut)
		for i := range wantGrads {
			name := "input"
			if i > 0 {
				name = adapters[i-1].Name
			}
			check(fmt.Sprintf("gradient of %s", name), gotGrads[i], wantGrads[i])
		}
	}
}

// count returns how often s occurs in list.
func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
