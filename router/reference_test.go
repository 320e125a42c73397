package router

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// refRoute is a plain float64 reference of evaluation-mode routing (no
// jitter, no noise, no capacity): each token's k experts in descending score
// order and their combine weights, [N*K] each.
func refRoute(cfg Config, bias []float32, x, gate []float64, n, d int) (experts []int32, weights []float64) {
	e, k := cfg.NumExperts, cfg.TopK
	for t := 0; t < n; t++ {
		logits := make([]float64, e)
		for j := range logits {
			for c := 0; c < d; c++ {
				logits[j] += x[t*d+c] * gate[j*d+c]
			}
		}
		mx := slices.Max(logits)
		probs, z := make([]float64, e), 0.0
		for j, l := range logits {
			probs[j] = math.Exp(l - mx)
			z += probs[j]
		}
		for j := range probs {
			probs[j] /= z
		}
		score := make([]float64, e) // selection score
		for j := range score {
			switch {
			case cfg.Type == Sigmoid:
				score[j] = 1 / (1 + math.Exp(-logits[j]))
			case cfg.PreSoftmax:
				score[j] = logits[j]
			default:
				score[j] = probs[j]
			}
			if cfg.ExpertBias {
				score[j] += float64(bias[j])
			}
		}
		idx := make([]int, e)
		for j := range idx {
			idx[j] = j
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case score[a] > score[b]:
				return -1
			case score[a] < score[b]:
				return 1
			}
			return 0
		})
		w, sum := make([]float64, k), 0.0
		for c := 0; c < k; c++ {
			j := idx[c]
			experts = append(experts, int32(j))
			switch {
			case cfg.Type == Sigmoid:
				w[c] = 1 / (1 + math.Exp(-logits[j]))
			case cfg.PreSoftmax:
				w[c] = math.Exp(logits[j] - logits[idx[0]])
			default:
				w[c] = probs[j]
			}
			sum += w[c]
		}
		normalise := cfg.Type != TopKSoftmax || cfg.Normalize || cfg.PreSoftmax
		for c := range w {
			if normalise {
				w[c] /= sum
			}
			weights = append(weights, w[c])
		}
	}
	return experts, weights
}

func TestRouteMatchesReference(t *testing.T) {
	const n, d = 9, 6
	bias := []float32{0.05, -0.02, 0.1, 0, -0.1, 0.03}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"topk_softmax", Config{NumExperts: 6, TopK: 2, Type: TopKSoftmax, Normalize: true}},
		{"topk_softmax raw", Config{NumExperts: 6, TopK: 2, Type: TopKSoftmax}},
		{"topk_softmax top-1 raw", Config{NumExperts: 6, TopK: 1, Type: TopKSoftmax}},
		{"pre-softmax", Config{NumExperts: 6, TopK: 3, Type: TopKSoftmax, PreSoftmax: true}},
		{"topk_softmax bias", Config{NumExperts: 6, TopK: 2, Type: TopKSoftmax, Normalize: true, ExpertBias: true}},
		{"sigmoid", Config{NumExperts: 6, TopK: 2, Type: Sigmoid}},
		{"sigmoid bias", Config{NumExperts: 6, TopK: 2, Type: Sigmoid, ExpertBias: true}},
		{"noisy eval", Config{NumExperts: 6, TopK: 2, Type: NoisyTopK, NoiseStd: 1}},
		{"k equals e", Config{NumExperts: 6, TopK: 6, Type: TopKSoftmax, Normalize: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			x, gate := autograd.RandN(rng, 1, n, d), autograd.RandN(rng, 1, 6, d)
			var noise *autograd.Tensor
			if tc.cfg.Type == NoisyTopK {
				noise = autograd.RandN(rng, 1, 6, d)
			}
			rt := withParams(tc.cfg, bias, gate, noise).Route(autograd.NewNoGradTape(), x, false, nil)
			wantE, wantW := refRoute(tc.cfg, bias, x.F64(), gate.F64(), n, d)
			if !slices.Equal(rt.Choices, wantE) {
				t.Fatalf("experts %v, want %v", rt.Choices, wantE)
			}
			for i, w := range choiceWeights(rt) {
				if math.Abs(w-wantW[i]) > 1e-12 {
					t.Fatalf("weight of choice %d = %v, want %v", i, w, wantW[i])
				}
			}
			checkTable(t, rt, 6)
			if rt.Dropped != 0 || rt.Slots() != n*tc.cfg.TopK {
				t.Fatalf("dropless routing dropped %d, kept %d of %d slots", rt.Dropped, rt.Slots(), n*tc.cfg.TopK)
			}
			for row := 0; row < n; row++ {
				s := 0.0
				for j := 0; j < 6; j++ {
					s += rt.Probs.At(row*6 + j)
				}
				if math.Abs(s-1) > 1e-12 {
					t.Fatalf("probs row %d sums to %v", row, s)
				}
			}
		})
	}
}

func TestRouteNoiseAndJitter(t *testing.T) {
	const n, d, e, eps, std = 4, 3, 5, 0.1, 0.7
	cfg := Config{NumExperts: e, TopK: 2, Type: NoisyTopK, NoiseStd: std, JitterEps: eps}
	rng := rand.New(rand.NewPCG(21, 22))
	x, gate, noise := autograd.RandN(rng, 1, n, d), autograd.RandN(rng, 1, e, d), autograd.RandN(rng, 1, e, d)
	rt := withParams(cfg, nil, gate, noise).Route(autograd.NewNoGradTape(), x, true, rand.New(rand.NewPCG(5, 5)))

	// Replay the draws: n*d jitter factors, then n*e noise samples.
	draw := rand.New(rand.NewPCG(5, 5))
	xj := make([]float64, n*d)
	for i := range xj {
		xj[i] = x.F64()[i] * (1 - eps + 2*eps*draw.Float64())
	}
	dot := func(w []float64, t, j int) float64 {
		s := 0.0
		for c := 0; c < d; c++ {
			s += xj[t*d+c] * w[j*d+c]
		}
		return s
	}
	for tok := 0; tok < n; tok++ {
		h := make([]float64, e)
		for j := range h {
			l := dot(gate.F64(), tok, j)
			if got := rt.Logits.At(tok*e + j); math.Abs(got-l) > 1e-12 {
				t.Fatalf("logit (%d,%d) = %v, want %v from the jittered input", tok, j, got, l)
			}
			h[j] = l + draw.NormFloat64()*std*math.Log1p(math.Exp(dot(noise.F64(), tok, j)))
		}
		// Probs are the softmax of the noisy logits.
		mx, z := slices.Max(h), 0.0
		for _, v := range h {
			z += math.Exp(v - mx)
		}
		for j, v := range h {
			if got, want := rt.Probs.At(tok*e+j), math.Exp(v-mx)/z; math.Abs(got-want) > 1e-12 {
				t.Fatalf("prob (%d,%d) = %v, want %v", tok, j, got, want)
			}
		}
	}
	// Same seed, same routing; no generator needed at evaluation.
	again := withParams(cfg, nil, gate, noise).Route(autograd.NewNoGradTape(), x, true, rand.New(rand.NewPCG(5, 5)))
	if !slices.Equal(again.Choices, rt.Choices) || again.Probs.At(0) != rt.Probs.At(0) {
		t.Fatal("routing with the same seed differs")
	}
	withParams(cfg, nil, gate, noise).Route(autograd.NewNoGradTape(), x, false, nil)
}
