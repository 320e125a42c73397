package router

import (
	"errors"
	"fmt"
	"math"
)

// Config describes a router.
type Config struct {
	NumExperts int    // E
	TopK       int    // K, 1 <= K <= E
	Type       string // a registered name (Types): TopKSoftmax, Sigmoid, NoisyTopK
	// PreSoftmax (TopKSoftmax only) chooses the top k on the logits and takes
	// the softmax over the k chosen logits.
	PreSoftmax bool
	// Normalize renormalises the k combine weights to sum 1 (TopKSoftmax;
	// DefaultConfig sets it). Sigmoid and NoisyTopK weights always sum 1.
	// With K = 1 and Normalize every weight is 1 and the gate receives no
	// gradient through the combine, so Switch-style top-1 routing leaves it off.
	Normalize bool
	// JitterEps, in training, multiplies the router input by U(1-eps, 1+eps)
	// noise drawn per element. 0 disables it.
	JitterEps float64
	// NoiseStd (NoisyTopK only, must be > 0) scales the learned noise
	// softplus(x · Wnoise^T) * N(0,1); 1 is the paper's formula. Other types
	// ignore it.
	NoiseStd float64
	// ExpertBias enables auxiliary-loss-free balancing (DeepSeek-V3): a
	// per-expert bias added to the scores for choosing experts only, never to
	// the combine weights, and moved by UpdateBias.
	ExpertBias bool
	// BiasUpdateRate is the step of UpdateBias (DeepSeek-V3 uses 1e-3).
	BiasUpdateRate float64
	// CapacityFactor sets each expert's capacity to
	// ceil(CapacityFactor * N * K / E) slots per call; an expert over capacity
	// drops its lowest-probability slots. 0 means dropless.
	CapacityFactor float64
}

// DefaultConfig returns a Mixtral-style router configuration: topk_softmax
// with renormalised weights, no jitter, no expert bias, dropless.
func DefaultConfig(numExperts, topK int) Config {
	return Config{NumExperts: numExperts, TopK: topK, Type: TopKSoftmax, Normalize: true}
}

// Validate reports every inconsistency in cfg, joined into one error.
func (cfg Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.NumExperts < 1 {
		bad("num_experts %d < 1", cfg.NumExperts)
	}
	if cfg.TopK < 1 || cfg.TopK > cfg.NumExperts {
		bad("top_k %d outside [1, num_experts=%d]", cfg.TopK, cfg.NumExperts)
	}
	if typ, ok := types[cfg.Type]; ok {
		errs = append(errs, typ.Validate(cfg)...)
	} else {
		bad("unknown router type %q (want %s)", cfg.Type, typeList())
	}
	if cfg.PreSoftmax && cfg.Type != TopKSoftmax {
		bad("pre_softmax applies only to %s, not %q", TopKSoftmax, cfg.Type)
	}
	if !(cfg.JitterEps >= 0 && cfg.JitterEps < 1) {
		bad("jitter_eps %v outside [0, 1)", cfg.JitterEps)
	}
	if !(cfg.BiasUpdateRate >= 0) || math.IsInf(cfg.BiasUpdateRate, 0) {
		bad("bias_update_rate %v must be finite and >= 0", cfg.BiasUpdateRate)
	}
	if !(cfg.CapacityFactor >= 0) || math.IsInf(cfg.CapacityFactor, 0) {
		bad("capacity_factor %v must be finite and >= 0 (0 = dropless)", cfg.CapacityFactor)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("router config: %w", errors.Join(errs...))
}

// capacity returns ceil(cf * n * k / e), or 0 (unlimited) when cf is 0. A
// product within 1e-9 of an integer counts as that integer, so that
// floating-point noise (1.1 * 10 = 11.000000000000002) adds no slot.
func capacity(cf float64, n, k, e int) int {
	if cf == 0 {
		return 0
	}
	c := int(math.Ceil(cf*float64(n*k)/float64(e) - 1e-9))
	return max(c, 1)
}
