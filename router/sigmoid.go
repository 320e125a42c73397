package router

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Sigmoid is the DeepSeek-V3 router type: sigmoid scores, top k, normalised.
const Sigmoid = "sigmoid"

// sigmoidType scores each expert s = sigmoid(logit). The chosen weights
// s_i / sum_j s_j are the softmax of the chosen log s, and Probs = s / sum(s)
// per token is the softmax of log s over all E.
type sigmoidType struct{}

func (sigmoidType) Validate(Config) []error { return nil }

func (sigmoidType) NewScorer(Config, autograd.DType, int) Scorer { return sigmoidScorer{} }

type sigmoidScorer struct{}

func (sigmoidScorer) Score(tp *autograd.Tape, _, logits *autograd.Tensor, _ bool, _ *rand.Rand) Scores {
	logSig := logSigmoid(tp, logits) // [N, E]
	return Scores{
		Probs: tp.Softmax(logSig), Base: logSig,
		// sigmoid is monotone: the logits rank the experts as s does; only
		// an added bias needs s itself.
		Select: logits, SigmoidBias: true,
		Combine: logSig, Renormalize: true,
	}
}

func (sigmoidScorer) Params() []*autograd.Tensor { return nil }
