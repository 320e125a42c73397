package router

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// NoisyTopK is the noisy top-k gating router type (Shazeer et al. 2017).
const NoisyTopK = "noisy_topk"

// noisyTopK adds, in training, N(0,1) * softplus(x · Wnoise^T) * NoiseStd to
// the logits; the top k of the noisy logits are chosen and softmaxed. It owns
// the noise weight Wnoise [E, D], zero at initialisation.
type noisyTopK struct{}

func (noisyTopK) Validate(cfg Config) []error {
	if !(cfg.NoiseStd > 0) || math.IsInf(cfg.NoiseStd, 0) {
		return []error{fmt.Errorf("noisy_topk needs a finite noise_std > 0, got %v", cfg.NoiseStd)}
	}
	return nil
}

func (noisyTopK) NewScorer(cfg Config, dt autograd.DType, d int) Scorer {
	return &noisyScorer{std: cfg.NoiseStd, noise: autograd.NewParam(dt, "noise", cfg.NumExperts, d)}
}

type noisyScorer struct {
	std   float64
	noise *autograd.Tensor // [E, D]
}

func (s *noisyScorer) Score(tp *autograd.Tape, x, logits *autograd.Tensor, training bool, rng *rand.Rand) Scores {
	h := logits // [N, E]
	if training {
		if rng == nil {
			panic("router.Route: training noisy_topk needs a random generator")
		}
		var noise *autograd.Tensor // [N, E]
		if x.DType() == autograd.Float64 {
			noise = noiseTerm[float64](tp, x, s.noise, s.std, rng)
		} else {
			noise = noiseTerm[float32](tp, x, s.noise, s.std, rng)
		}
		h = tp.Add(logits, noise)
	}
	probs := tp.Softmax(h) // [N, E]
	return Scores{Probs: probs, Base: h, Select: probs, Combine: h, Renormalize: true}
}

func (s *noisyScorer) Params() []*autograd.Tensor { return []*autograd.Tensor{s.noise} }
