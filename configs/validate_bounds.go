package configs

import "fmt"

// Upper bounds on the sizes of a configuration. Each is far above any model or run this framework
// (or any published model) uses, so a value beyond one can only be a typo or a hostile file, and
// refusing it here is what keeps a stray "1e9" from sizing an allocation, or a loop, by itself.
// Whether a configuration within the bounds fits the machine's memory is a separate check (the
// trainer's memory estimate).
const (
	MaxLayers       = 4096          // model.n_layers; the deepest published transformers have under 200 layers
	MaxVocab        = 1 << 24       // model.vocab_size; the largest tokenizers have about 256k ids
	MaxWidth        = 1 << 17       // model.d_model; published models stay under 32k
	MaxHidden       = 1 << 20       // model.ffn_hidden_size and moe.expert_ffn_hidden_size
	MaxSeqLen       = 1 << 24       // model.max_seq_len (16M tokens)
	MaxExperts      = 1 << 16       // moe.num_experts per layer
	MaxShared       = 1 << 10       // moe.shared_experts
	MaxBatch        = 1 << 20       // train.micro_batch_size, train.grad_accum_steps and train.eval_batches
	MaxWorldSize    = 1 << 16       // parallel.world_size
	MaxGlobalBatch  = 1 << 30       // train.global_batch_size
	MaxTimeout      = 7 * 24 * 3600 // parallel.timeout, seconds (a week)
	boundHintSuffix = "; a larger value can only be a typo"
)

// atMost checks key <= hi for an integer key that has an upper bound; what names what it counts.
func (v *checks) atMost(key string, x, hi int, what string) {
	if x > hi {
		v.fail(key, x, fmt.Sprintf("is more than %d, the most %s this build accepts", hi, what),
			fmt.Sprintf("check the value (an extra digit or exponent?)%s", boundHintSuffix))
	}
}

// bounds checks the upper bounds of the size keys.
func (v *checks) bounds(c *Config) {
	m := c.Model
	v.atMost("model.vocab_size", m.VocabSize, MaxVocab, "token ids")
	v.atMost("model.d_model", m.DModel, MaxWidth, "model width")
	v.atMost("model.n_layers", m.NLayers, MaxLayers, "layers")
	v.atMost("model.ffn_hidden_size", m.FFNHiddenSize, MaxHidden, "MLP width")
	v.atMost("model.max_seq_len", m.MaxSeqLen, MaxSeqLen, "sequence length")
	e := c.MoE
	if e.NumExperts.IsList() {
		for j, n := range e.NumExperts.PerLayer {
			if n > MaxExperts {
				v.fail("moe.num_experts", e.NumExperts, fmt.Sprintf("has %d experts in entry %d, more than %d, the most this build accepts",
					n, j, MaxExperts), "check the value (an extra digit or exponent?)"+boundHintSuffix)
				break
			}
		}
	} else {
		v.atMost("moe.num_experts", e.NumExperts.All, MaxExperts, "experts per layer")
	}
	v.atMost("moe.expert_ffn_hidden_size", e.ExpertFFNHiddenSize, MaxHidden, "expert width")
	v.atMost("moe.shared_experts", e.SharedExperts, MaxShared, "shared experts")
	t := c.Train
	v.atMost("train.micro_batch_size", t.MicroBatchSize, MaxBatch, "sequences per micro-batch")
	v.atMost("train.grad_accum_steps", t.GradAccumSteps, MaxBatch, "micro-batches per step")
	v.atMost("train.eval_batches", t.EvalBatches, MaxBatch, "evaluation micro-batches")
	v.atMost("train.global_batch_size", t.GlobalBatchSize, MaxGlobalBatch, "sequences per step")
	v.atMost("parallel.world_size", c.Parallel.WorldSize, MaxWorldSize, "ranks")
	if p := c.Parallel.Timeout; p > MaxTimeout {
		v.fail("parallel.timeout", p, fmt.Sprintf("is more than %d seconds (a week), the longest wait this build accepts", MaxTimeout),
			"give the seconds a collective may wait for a peer, e.g. 300"+boundHintSuffix)
	}
}
