package layers

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// What these tests catch (mutations of params.go tried, and the test that
// failed):
//   - Freeze not clearing requiresGrad: TestFreezeSplitsTrainable.
//   - Trainable returning every parameter: TestFreezeSplitsTrainable.
//   - Freeze counting parameters that were frozen already:
//     TestFreezeSplitsTrainable.
//   - Freeze keeping an earlier gradient readable: TestFreezeDropsOldGradient.
//   - Unfreeze not setting requiresGrad: TestFreezeSplitsTrainable.

// isExpertOrEmbed matches the expert weights and the embedding table.
func isExpertOrEmbed(name string) bool {
	return strings.Contains(name, ".experts.") || strings.HasPrefix(name, "embed_tokens")
}

func TestFreezeSplitsTrainable(t *testing.T) {
	m, err := New(tinyConfig(), autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	all := len(m.Params())
	if got := len(m.Trainable()); got != all || m.NumTrainable() != m.NumParams() {
		t.Fatalf("fresh model: %d of %d parameters trainable, %d of %d elements", got, all, m.NumTrainable(), m.NumParams())
	}
	var want []string
	frozenElems := 0
	for _, p := range m.Params() {
		if isExpertOrEmbed(p.Name) {
			want = append(want, p.Name)
			frozenElems += p.Len()
		}
	}
	if len(want) < 2 {
		t.Fatalf("test model has %d expert/embedding parameters", len(want))
	}
	if n := m.Freeze(isExpertOrEmbed); n != len(want) {
		t.Errorf("Freeze froze %d, want %d", n, len(want))
	}
	if n := m.Freeze(isExpertOrEmbed); n != 0 {
		t.Errorf("freezing again froze %d, want 0", n)
	}
	if len(m.Params()) != all {
		t.Errorf("Params lost frozen parameters: %d, want %d", len(m.Params()), all)
	}
	tr := m.Trainable()
	if len(tr) != all-len(want) || m.NumTrainable() != m.NumParams()-frozenElems {
		t.Errorf("trainable: %d parameters, %d elements; want %d, %d", len(tr), m.NumTrainable(), all-len(want), m.NumParams()-frozenElems)
	}
	for _, p := range tr {
		if slices.Contains(want, p.Name) || !p.RequiresGrad() {
			t.Errorf("Trainable holds %s (requires grad %v)", p.Name, p.RequiresGrad())
		}
	}
	for _, p := range m.Params() {
		if slices.Contains(want, p.Name) == p.RequiresGrad() {
			t.Errorf("%s: requires grad %v", p.Name, p.RequiresGrad())
		}
	}
	// Trainable keeps Params order.
	var order []string
	for _, p := range m.Params() {
		if p.RequiresGrad() {
			order = append(order, p.Name)
		}
	}
	var got []string
	for _, p := range tr {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, order) {
		t.Errorf("Trainable order %v, want %v", got, order)
	}
	if n := m.Unfreeze(func(name string) bool { return strings.HasPrefix(name, "embed_tokens") }); n != 1 {
		t.Errorf("Unfreeze unfroze %d, want 1", n)
	}
	if !m.Embed.Table.RequiresGrad() || len(m.Trainable()) != all-len(want)+1 {
		t.Errorf("after Unfreeze: embedding requires grad %v, %d trainable", m.Embed.Table.RequiresGrad(), len(m.Trainable()))
	}
}

// lossOf runs the full training loss of m on a fixed batch on tp.
func lossOf(tp *autograd.Tape, m *Model) *autograd.Tensor {
	b, tl := 2, 5
	rng := rand.New(rand.NewPCG(3, 4))
	tokens, targets := make([]int32, b*tl), make([]int32, b*tl)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(m.Cfg.Vocab)), int32(rng.IntN(m.Cfg.Vocab))
	}
	out := m.Forward(tp, tokens, b, tl, ForwardOptions{})
	return m.Loss(tp, out, targets, LossConfig{AuxCoeff: 0.1, ZCoeff: 0.01, IgnoreIdx: -100}).Total
}

// TestFrozenParamsGetNoGradient: after a backward pass, frozen parameters
// hold no gradient buffer, the trainable ones get exactly the gradients they
// get when nothing is frozen, and those gradients pass a float64
// finite-difference check.
func TestFrozenParamsGetNoGradient(t *testing.T) {
	for _, tied := range []bool{false, true} {
		cfg := tinyConfig()
		cfg.TieEmbeddings = tied
		ref, err := New(cfg, autograd.Float64, 5)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg, autograd.Float64, 5)
		if err != nil {
			t.Fatal(err)
		}
		m.Freeze(isExpertOrEmbed)
		for _, mm := range []*Model{ref, m} {
			tp := autograd.NewTape()
			if err := tp.Backward(lossOf(tp, mm)); err != nil {
				t.Fatal(err)
			}
			tp.Reset()
		}
		for i, p := range m.Params() {
			if !p.RequiresGrad() {
				if p.HasGrad() {
					t.Errorf("tied=%v: frozen %s has a gradient buffer", tied, p.Name)
				}
				continue
			}
			want := autograd.Grads[float64](ref.Params()[i])
			if !slices.Equal(autograd.Grads[float64](p), want) {
				t.Errorf("tied=%v: %s: gradient changed by freezing other parameters", tied, p.Name)
			}
		}
		f := func(tp *autograd.Tape, _ []*autograd.Tensor) *autograd.Tensor { return lossOf(tp, m) }
		rel, err := autograd.GradCheck(f, m.Trainable(), 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		if rel > 1e-6 {
			t.Errorf("tied=%v: relative gradient error %g with frozen parameters", tied, rel)
		}
	}
}

// TestFreezeDropsOldGradient: a parameter frozen after a backward pass reads
// as a zero gradient.
func TestFreezeDropsOldGradient(t *testing.T) {
	m, err := New(tinyConfig(), autograd.Float64, 2)
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape()
	if err := tp.Backward(lossOf(tp, m)); err != nil {
		t.Fatal(err)
	}
	tp.Reset()
	w := m.Blocks[0].Attn.Q.W
	nonzero := false
	for i := 0; i < w.Len(); i++ {
		nonzero = nonzero || w.GradAt(i) != 0
	}
	if !nonzero {
		t.Fatal("q_proj has no gradient before freezing")
	}
	m.Freeze(func(name string) bool { return name == w.Name })
	for i := 0; i < w.Len(); i++ {
		if w.GradAt(i) != 0 {
			t.Fatalf("frozen %s: gradient element %d = %v, want 0", w.Name, i, w.GradAt(i))
		}
	}
}
