package router

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestRouteCapacity(t *testing.T) {
	// Four tokens, two experts, top-1, capacity factor 1: capacity
	// ceil(1 * 4 * 1 / 2) = 2. x = [a, 1] against gate rows [1, 0] and
	// [0, 1] gives logits [a, 1]; tokens with a = 3, 2.5, 4, 2 all choose
	// expert 0 with probs sigmoid(a - 1) = 0.881, 0.818, 0.953, 0.731.
	// Expert 0 keeps the two most probable (tokens 2 and 0) and drops 1 and 3.
	x := autograd.FromSlice([]float64{3, 1, 2.5, 1, 4, 1, 2, 1}, 4, 2)
	gate := autograd.FromSlice([]float64{1, 0, 0, 1}, 2, 2)
	cfg := Config{NumExperts: 2, TopK: 1, Type: TopKSoftmax, CapacityFactor: 1}
	rt := withParams(cfg, nil, gate, nil).Route(autograd.NewNoGradTape(), x, false, nil)
	if rt.Capacity != 2 || rt.Dropped != 2 {
		t.Fatalf("capacity %d dropped %d, want 2 and 2", rt.Capacity, rt.Dropped)
	}
	if !slices.Equal(rt.Choices, []int32{0, 0, 0, 0}) || !slices.Equal(rt.Token, []int32{0, 2}) ||
		!slices.Equal(rt.Expert, []int32{0, 0}) || !slices.Equal(rt.Offsets, []int{0, 2, 2}) ||
		!slices.Equal(rt.TokensPerExpert(), []int{2, 0}) {
		t.Fatalf("choices %v tokens %v experts %v offsets %v", rt.Choices, rt.Token, rt.Expert, rt.Offsets)
	}
	checkTable(t, rt, 2)
	for s, want := range []float64{sigmoid(2), sigmoid(3)} {
		if got := rt.Weight.At(s); math.Abs(got-want) > 1e-12 {
			t.Fatalf("weight of slot %d = %v, want %v", s, got, want)
		}
	}
}

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

func TestRouteKEqualsE(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, typ := range []string{TopKSoftmax, Sigmoid} {
		cfg := Config{NumExperts: 4, TopK: 4, Type: typ, Normalize: true}
		x, gate := autograd.RandN(rng, 1, 6, 3), autograd.RandN(rng, 1, 4, 3)
		rt := withParams(cfg, nil, gate, nil).Route(autograd.NewNoGradTape(), x, false, nil)
		for tok := 0; tok < 6; tok++ {
			chosen := rt.Choices[rt.ChoiceOffsets[tok]:rt.ChoiceOffsets[tok+1]]
			got := slices.Clone(chosen)
			slices.Sort(got)
			if !slices.Equal(got, []int32{0, 1, 2, 3}) {
				t.Fatalf("%s: token %d chose %v, want every expert", typ, tok, chosen)
			}
		}
		// With every expert chosen the normalised weights are the probs.
		for s, tok := range rt.Token {
			ex := int(rt.Expert[s])
			if w, p := rt.Weight.At(s), rt.Probs.At(int(tok)*4+ex); math.Abs(w-p) > 1e-12 {
				t.Fatalf("%s: weight %v != prob %v", typ, w, p)
			}
		}
		if !slices.Equal(rt.TokensPerExpert(), []int{6, 6, 6, 6}) {
			t.Fatalf("%s: tokens per expert %v", typ, rt.TokensPerExpert())
		}
		checkTable(t, rt, 4)
	}
}

func TestExpertBiasSelectsOnly(t *testing.T) {
	// A large bias on expert 3 puts it in every token's top 2, but the
	// combine weights still come from the unbiased scores.
	rng := rand.New(rand.NewPCG(13, 14))
	x, gate := autograd.RandN(rng, 1, 5, 4), autograd.RandN(rng, 1, 4, 4)
	for _, typ := range []string{TopKSoftmax, Sigmoid} {
		cfg := Config{NumExperts: 4, TopK: 2, Type: typ, Normalize: true, ExpertBias: true}
		bias := []float32{0, 0, 0, 10}
		rt := withParams(cfg, bias, gate, nil).Route(autograd.NewNoGradTape(), x, false, nil)
		w := choiceWeights(rt)
		for tok := 0; tok < 5; tok++ {
			c := rt.ChoiceOffsets[tok]
			if rt.Choices[c] != 3 {
				t.Fatalf("%s: token %d chose %v first, want expert 3", typ, tok, rt.Choices[c:c+2])
			}
			// weight_c / weight_c' equals the ratio of unbiased scores.
			a, b := int(rt.Choices[c]), int(rt.Choices[c+1])
			ratio := rt.Probs.At(tok*4+a) / rt.Probs.At(tok*4+b)
			if got := w[c] / w[c+1]; math.Abs(got-ratio) > 1e-9*ratio {
				t.Fatalf("%s: weight ratio %v, want the unbiased %v", typ, got, ratio)
			}
			if s := w[c] + w[c+1]; math.Abs(s-1) > 1e-12 {
				t.Fatalf("%s: weights sum to %v", typ, s)
			}
		}
	}
}

func TestRoutePanics(t *testing.T) {
	r, err := New(Config{NumExperts: 3, TopK: 1, Type: TopKSoftmax, JitterEps: 0.1}, 4, 0.02, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func()
	}{
		{"wrong width", func() { r.Route(autograd.NewTape(), autograd.New(autograd.Float32, 2, 5), false, nil) }},
		{"not 2-D", func() { r.Route(autograd.NewTape(), autograd.New(autograd.Float32, 4), false, nil) }},
		{"dtype", func() { r.Route(autograd.NewTape(), autograd.New(autograd.Float64, 2, 4), false, nil) }},
		{"nil rng", func() { r.Route(autograd.NewTape(), autograd.New(autograd.Float32, 2, 4), true, nil) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.run()
		})
	}
}

func TestRouteFloat32Training(t *testing.T) {
	// The float32 path through New and a recording tape: gradients reach the
	// gate for every router type.
	for _, cfg := range []Config{
		DefaultConfig(8, 2),
		{NumExperts: 8, TopK: 2, Type: Sigmoid, ExpertBias: true, BiasUpdateRate: 1e-3},
		{NumExperts: 8, TopK: 2, Type: NoisyTopK, NoiseStd: 1, JitterEps: 0.01, CapacityFactor: 1},
	} {
		t.Run(cfg.Type, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 3))
			r, err := New(cfg, 16, 0.5, rng)
			if err != nil {
				t.Fatal(err)
			}
			x := autograd.ToFloat32(autograd.RandN(rng, 1, 32, 16))
			tp := autograd.NewTape()
			rt := r.Route(tp, x, true, rng)
			// A random projection: the plain sum of normalised weights is
			// constant and would carry no gradient.
			proj := autograd.ToFloat32(autograd.RandN(rng, 1, rt.Weight.Shape()...))
			if err := tp.Backward(tp.Sum(tp.Mul(rt.Weight, proj))); err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Params() {
				norm := 0.0
				for i := range p.Len() {
					norm += p.GradAt(i) * p.GradAt(i)
				}
				if !(norm > 0) {
					t.Fatalf("no gradient reached %s", p.Name)
				}
			}
			r.UpdateBias(rt.TokensPerExpert())
		})
	}
}

func TestRouteEmptyBatch(t *testing.T) {
	r, err := New(Config{NumExperts: 4, TopK: 2, Type: Sigmoid, CapacityFactor: 1}, 3, 0.1, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rt := r.Route(autograd.NewTape(), autograd.New(autograd.Float32, 0, 3), false, nil)
	if len(rt.Choices) != 0 || rt.Slots() != 0 || rt.Tokens() != 0 || !slices.Equal(rt.Offsets, []int{0, 0, 0, 0, 0}) || rt.Weight.Dim(0) != 0 {
		t.Fatalf("empty batch routed to %v, tokens %v, offsets %v", rt.Choices, rt.Token, rt.Offsets)
	}
}
