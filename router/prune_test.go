package router

// Mutations caught (each tried):
//   - prune.go: leaving the bias of masked experts as it is makes the
//     expert-bias cases of TestMaskedEqualsDeletedRows fail (a dropped expert
//     with a large bias is chosen).
//   - prune.go: not scaling the capacity factor by E/len(keep) makes the
//     capacity case fail (another capacity, other drops).
//   - prune.go: keeping TopK when fewer experts are kept makes the keep_1
//     case fail (a masked expert fills the second choice).
//   - prune.go: not copying the bias (writing -Inf into r's own) makes the
//     check that r routes as before fail.

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// deletedRows builds the router of len(keep) experts whose gate, scorer
// weights and bias are r's rows keep: the router of a pruned model.
func deletedRows(t *testing.T, r *Router, keep []int) *Router {
	t.Helper()
	pc := r.cfg
	pc.NumExperts, pc.TopK = len(keep), min(r.cfg.TopK, len(keep))
	p, err := NewWithDType(pc, r.gate.DType(), r.d, 0, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range p.Params() {
		src := r.Params()[i].F64()
		for j, e := range keep {
			copy(q.F64()[j*r.d:(j+1)*r.d], src[e*r.d:(e+1)*r.d])
		}
	}
	bias := make([]float32, len(keep))
	for j, e := range keep {
		bias[j] = r.bias[e]
	}
	if err := p.SetBias(bias); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMaskedEqualsDeletedRows(t *testing.T) {
	softmax := DefaultConfig(5, 2)
	raw := softmax
	raw.Normalize = false
	pre := softmax
	pre.PreSoftmax = true
	biased := softmax
	biased.ExpertBias = true
	sigmoid := Config{NumExperts: 5, TopK: 2, Type: Sigmoid, ExpertBias: true}
	noisy := Config{NumExperts: 5, TopK: 2, Type: NoisyTopK, NoiseStd: 1, Normalize: true}
	capped := softmax
	capped.CapacityFactor = 1
	cases := []struct {
		name string
		cfg  Config
		keep []int
	}{
		{"topk_softmax", softmax, []int{0, 2, 3}},
		{"topk_softmax_raw", raw, []int{0, 2, 3}},
		{"pre_softmax", pre, []int{1, 4}},
		{"topk_softmax_bias", biased, []int{0, 2, 3}},
		{"sigmoid_bias", sigmoid, []int{0, 2, 3}},
		{"noisy_topk", noisy, []int{2, 3, 4}},
		{"capacity", capped, []int{0, 1, 3}},
		{"keep_1", softmax, []int{3}},
	}
	const n, d = 11, 6
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 9))
			r, err := NewWithDType(tc.cfg, autograd.Float64, d, 1, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Params() {
				for i := range p.Len() {
					p.Set(i, rng.NormFloat64())
				}
			}
			if tc.cfg.ExpertBias {
				// Expert 1 is dropped in these cases; its large bias would
				// win every token unless masked.
				if err := r.SetBias([]float32{0.1, 5, -0.2, 0.3, 0}); err != nil {
					t.Fatal(err)
				}
			}
			x := autograd.New(autograd.Float64, n, d)
			for i := range x.Len() {
				x.Set(i, rng.NormFloat64())
			}
			tp := autograd.NewNoGradTape()
			before := r.Route(tp, x, false, nil)
			m, err := r.Masked(tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			got := m.Route(tp, x, false, nil)
			want := deletedRows(t, r, tc.keep).Route(tp, x, false, nil)
			compareMasked(t, got, want, tc.keep, tc.cfg.NumExperts)
			again := r.Route(tp, x, false, nil)
			if !slices.Equal(again.Choices, before.Choices) || !slices.Equal(r.Bias(), r.bias) {
				t.Errorf("Masked changed the router it masks: choices %v, then %v", before.Choices, again.Choices)
			}
			if tc.name == "capacity" && want.Dropped == 0 {
				t.Errorf("the capacity case dropped nothing (capacity %d)", want.Capacity)
			}
		})
	}
}

// compareMasked holds the masked routing got (old expert indices) to want,
// the routing of the router with deleted rows (new indices).
func compareMasked(t *testing.T, got, want *Routing, keep []int, e int) {
	t.Helper()
	if len(got.Choices) != len(want.Choices) || got.Dropped != want.Dropped || got.Capacity != want.Capacity {
		t.Fatalf("masked: %d choices, %d dropped, capacity %d; deleted rows: %d, %d, %d",
			len(got.Choices), got.Dropped, got.Capacity, len(want.Choices), want.Dropped, want.Capacity)
	}
	for c, ex := range want.Choices {
		if got.Choices[c] != int32(keep[ex]) {
			t.Fatalf("choice %d: masked chose expert %d, deleted rows %d (old index %d)", c, got.Choices[c], ex, keep[ex])
		}
	}
	if len(got.Token) != len(want.Token) {
		t.Fatalf("masked keeps %d slots, deleted rows %d", len(got.Token), len(want.Token))
	}
	for s := range want.Token {
		if got.Token[s] != want.Token[s] || got.Expert[s] != int32(keep[want.Expert[s]]) {
			t.Fatalf("slot %d: masked (token %d, expert %d), deleted rows (token %d, expert %d -> %d)",
				s, got.Token[s], got.Expert[s], want.Token[s], want.Expert[s], keep[want.Expert[s]])
		}
		if g, w := got.Weight.At(s), want.Weight.At(s); math.Abs(g-w) > 1e-12 {
			t.Errorf("slot %d: weight %v masked, %v deleted rows", s, g, w)
		}
	}
	n, p := got.Tokens(), len(keep)
	for tok := range n {
		for j, ex := range keep {
			if g, w := got.Probs.At(tok*e+ex), want.Probs.At(tok*p+j); math.Abs(g-w) > 1e-12 {
				t.Errorf("token %d expert %d: prob %v masked, %v deleted rows", tok, ex, g, w)
			}
		}
		for ex := range e {
			if !slices.Contains(keep, ex) && got.Probs.At(tok*e+ex) != 0 {
				t.Errorf("token %d: masked expert %d has prob %v", tok, ex, got.Probs.At(tok*e+ex))
			}
		}
	}
}

func TestMaskedErrors(t *testing.T) {
	r, err := New(DefaultConfig(4, 2), 3, 0.1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keep []int
		want string
	}{
		{nil, "leaves none"},
		{[]int{0, 4}, "kept expert 4 outside [0, 4)"},
		{[]int{-1}, "kept expert -1"},
		{[]int{2, 1}, "not ascending"},
		{[]int{1, 1}, "distinct"},
	} {
		if _, err := r.Masked(tc.keep); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Masked(%v) = %v, want an error containing %q", tc.keep, err, tc.want)
		}
	}
}
