package router

import (
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// Type is one router type (Config.Type): it checks the configuration keys
// that belong to it and makes the Scorer of one router. A new type is one
// file with a Type and its Scorer, plus its line in the registry (types).
type Type interface {
	// Validate reports the problems of cfg's keys that this type reads,
	// each naming the key and the value.
	Validate(cfg Config) []error
	// NewScorer returns the scorer of one router of model width d whose
	// parameters have dtype dt. cfg has passed Validate.
	NewScorer(cfg Config, dt autograd.DType, d int) Scorer
}

// Scorer turns one router's logits into Scores. It owns the parameters its
// type adds beyond the gate; it is used by one goroutine at a time.
type Scorer interface {
	// Score maps the router input x [N, D] and its logits [N, E] to Scores,
	// recorded on tp. rng draws any training-time noise; it is nil when not
	// training. It panics if it needs rng and rng is nil.
	Score(tp *autograd.Tape, x, logits *autograd.Tensor, training bool, rng *rand.Rand) Scores
	// Params returns the type's own trainable parameters (nil for none).
	Params() []*autograd.Tensor
}

// Scores is what a router type makes of one batch's logits: the tensors
// selection, capacity, the combine weights and the losses read.
type Scores struct {
	// Probs [N, E] is each token's distribution over the experts: the
	// load-balancing input and the order in which capacity keeps slots.
	Probs *autograd.Tensor
	// Base [N, E], when not nil, is the tensor Probs is the row softmax of;
	// it lets the entropy statistic take one logarithm per token.
	Base *autograd.Tensor
	// Select [N, E] ranks each token's experts for selection, highest first.
	// The expert bias is added to it for choosing only.
	Select *autograd.Tensor
	// SigmoidBias says that the biased selection score is
	// sigmoid(Select) + bias rather than Select + bias.
	SigmoidBias bool
	// Combine [N, E] is the combine-weight source, read at each token's
	// chosen experts.
	Combine *autograd.Tensor
	// Renormalize takes the softmax of the chosen entries of Combine over
	// each token's choices (Combine then holds log-weights).
	Renormalize bool
}
