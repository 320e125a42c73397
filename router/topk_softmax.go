package router

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// TopKSoftmax is the Mixtral router type: softmax over E, top k.
const TopKSoftmax = "topk_softmax"

// topKSoftmax scores with probs = softmax(logits). The chosen probs are the
// combine weights; renormalising them p_i / sum_j p_j equals the softmax over
// the chosen logits, which needs no division op. PreSoftmax chooses on the
// logits and takes that same softmax.
type topKSoftmax struct{}

func (topKSoftmax) Validate(Config) []error { return nil }

func (topKSoftmax) NewScorer(cfg Config, _ autograd.DType, _ int) Scorer {
	return topKSoftmaxScorer{preSoftmax: cfg.PreSoftmax, normalize: cfg.Normalize}
}

type topKSoftmaxScorer struct{ preSoftmax, normalize bool }

func (s topKSoftmaxScorer) Score(tp *autograd.Tape, _, logits *autograd.Tensor, _ bool, _ *rand.Rand) Scores {
	probs := tp.Softmax(logits) // [N, E]
	sc := Scores{Probs: probs, Base: logits, Select: probs, Combine: logits, Renormalize: true}
	if s.preSoftmax {
		sc.Select = logits
	} else if !s.normalize {
		sc.Combine, sc.Renormalize = probs, false
	}
	return sc
}

func (topKSoftmaxScorer) Params() []*autograd.Tensor { return nil }
