// Package losses holds moetrain's stateless loss functions. Each takes a tape
// and tensors on it and returns a [1] tensor through which gradients flow:
// the language-model cross-entropy, the MoE load-balancing loss (batch- and
// sequence-level) and the router z-loss.
//
// The training objective is CE + sum over MoE layers of (LB + Z), each
// auxiliary term already multiplied by its coefficient. Customary
// coefficients are DefaultAuxCoeff (1e-2, Switch Transformer / Mixtral) and
// DefaultZCoeff (1e-3, ST-MoE).
//
// Dimension legend: N tokens, E experts, K experts per token, V vocabulary,
// S sequences, L tokens per sequence (N = S*L).
package losses
