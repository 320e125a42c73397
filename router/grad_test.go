package router

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// withParams returns a router around the given parameter tensors, so that a
// gradient check can perturb (or retype) them.
func withParams(cfg Config, bias []float32, gate, noise *autograd.Tensor) *Router {
	r := &Router{cfg: cfg, d: gate.Dim(1), gate: gate, bias: make([]float32, cfg.NumExperts)}
	r.scorer = types[cfg.Type].NewScorer(cfg, gate.DType(), gate.Dim(1))
	if ns, ok := r.scorer.(*noisyScorer); ok && noise != nil {
		ns.noise = noise
	}
	copy(r.bias, bias)
	return r
}

func randParam(rng *rand.Rand, std float64, shape ...int) *autograd.Tensor {
	t := autograd.RandN(rng, std, shape...)
	t.SetRequiresGrad(true)
	return t
}

// selectionGap returns the smallest margin, over tokens, between the k-th
// and (k+1)-th selection scores, and over capacity-limited experts between
// the lowest kept and highest dropped prob: how far a perturbation must move
// a score to change the routing.
func selectionGap(cfg Config, bias []float32, rt *Routing) float64 {
	n, e, k := rt.Probs.Dim(0), cfg.NumExperts, cfg.TopK
	gap := math.Inf(1)
	for t := 0; t < n && k < e; t++ {
		sc := make([]float64, e)
		for j := range sc {
			switch {
			case cfg.Type == Sigmoid:
				sc[j] = 1 / (1 + math.Exp(-rt.Logits.At(t*e+j)))
			case cfg.PreSoftmax:
				sc[j] = rt.Logits.At(t*e + j)
			default:
				sc[j] = rt.Probs.At(t*e + j)
			}
			if cfg.ExpertBias {
				sc[j] += float64(bias[j])
			}
		}
		slices.Sort(sc)
		gap = min(gap, sc[e-k]-sc[e-k-1])
	}
	if rt.Dropped > 0 {
		for ex := 0; ex < e; ex++ {
			lowKept, highDropped := math.Inf(1), math.Inf(-1)
			for tok := 0; tok < n; tok++ {
				for c := rt.ChoiceOffsets[tok]; c < rt.ChoiceOffsets[tok+1]; c++ {
					if int(rt.Choices[c]) != ex {
						continue
					}
					p := rt.Probs.At(tok*e + ex)
					if kept(rt, tok, c) {
						lowKept = min(lowKept, p)
					} else {
						highDropped = max(highDropped, p)
					}
				}
			}
			gap = min(gap, lowKept-highDropped)
		}
	}
	return gap
}

func TestRouteGradients(t *testing.T) {
	const n, d = 8, 5
	bias := []float32{0.02, -0.03, 0.05, 0, -0.01}
	tests := []struct {
		name     string
		cfg      Config
		training bool
	}{
		{"topk_softmax", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax, Normalize: true}, true},
		{"topk_softmax raw", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax}, true},
		{"pre-softmax", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax, PreSoftmax: true}, true},
		{"topk_softmax jitter", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax, Normalize: true, JitterEps: 0.05}, true},
		{"topk_softmax bias", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax, Normalize: true, ExpertBias: true}, true},
		{"sigmoid", Config{NumExperts: 5, TopK: 2, Type: Sigmoid}, true},
		{"sigmoid bias", Config{NumExperts: 5, TopK: 3, Type: Sigmoid, ExpertBias: true}, true},
		{"noisy train", Config{NumExperts: 5, TopK: 2, Type: NoisyTopK, NoiseStd: 1}, true},
		{"noisy eval", Config{NumExperts: 5, TopK: 2, Type: NoisyTopK, NoiseStd: 1}, false},
		{"capacity", Config{NumExperts: 5, TopK: 2, Type: TopKSoftmax, Normalize: true, CapacityFactor: 0.75}, true},
		{"sigmoid capacity", Config{NumExperts: 5, TopK: 2, Type: Sigmoid, CapacityFactor: 0.75}, true},
		{"k equals e", Config{NumExperts: 5, TopK: 5, Type: TopKSoftmax, Normalize: true}, true},
	}
	outputs := []struct {
		name string
		get  func(*Routing) *autograd.Tensor
	}{
		{"weights", func(rt *Routing) *autograd.Tensor { return rt.Weight }},
		{"probs", func(rt *Routing) *autograd.Tensor { return rt.Probs }},
		{"logits", func(rt *Routing) *autograd.Tensor { return rt.Logits }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(100+i), 7))
			inputs := []*autograd.Tensor{randParam(rng, 1, n, d), randParam(rng, 1, 5, d)}
			if tc.cfg.Type == NoisyTopK {
				inputs = append(inputs, randParam(rng, 0.5, 5, d))
			}
			route := func(tp *autograd.Tape, in []*autograd.Tensor) *Routing {
				var noise *autograd.Tensor
				if len(in) > 2 {
					noise = in[2]
				}
				return withParams(tc.cfg, bias, in[1], noise).Route(tp, in[0], tc.training, rand.New(rand.NewPCG(3, 4)))
			}
			rt := route(autograd.NewNoGradTape(), inputs)
			if gap := selectionGap(tc.cfg, bias, rt); gap < 1e-4 {
				t.Fatalf("test inputs sit %.3g from a selection boundary; pick another seed", gap)
			}
			if tc.cfg.CapacityFactor > 0 && rt.Dropped == 0 {
				t.Fatal("capacity case dropped nothing")
			}
			for _, out := range outputs {
				f := func(tp *autograd.Tape, in []*autograd.Tensor) *autograd.Tensor { return out.get(route(tp, in)) }
				rel, err := autograd.GradCheck(f, inputs, 1e-6)
				if err != nil {
					t.Fatalf("%s: %v", out.name, err)
				}
				if rel > 1e-6 {
					t.Errorf("%s: float64 gradient relative error %.3g > 1e-6", out.name, rel)
				}
				rel32, err := autograd.GradCheck32(f, inputs)
				if err != nil {
					t.Fatalf("%s float32: %v", out.name, err)
				}
				if rel32 > 1e-4 {
					t.Errorf("%s: float32 vs float64 relative error %.3g > 1e-4", out.name, rel32)
				}
				t.Logf("%s: float64 %.2g, float32 %.2g", out.name, rel, rel32)
			}
		})
	}
}
