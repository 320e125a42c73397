// Package prune removes experts from a trained MoE model for one task: it
// runs the model without gradients over calibration data, chooses in every
// MoE layer which P of its E experts to keep, and builds the smaller model.
//
// Two ways of choosing:
//   - frequency keeps the P experts with the largest total routing weight on
//     the calibration tokens (ties to the lower index).
//   - reconstruction (Lu et al. 2024, "Not All Experts are Equal") keeps the
//     subset S of P experts whose layer output, computed with only S
//     available, is closest to the full layer's output: the squared error
//     summed over the calibration tokens. "Only S available" masks the other
//     experts' router logits to -Inf before top-k, so that the router
//     renormalises over S as it does over all E (router.Router.Masked). The
//     search is exhaustive over all C(E, P) subsets when there are at most
//     Options.MaxSubsets of them, greedy otherwise: starting from all E,
//     drop one expert at a time, the one whose removal raises the error
//     least.
//
// The pruned model is built from the configuration with moe.num_experts =
// P and moe.top_k = min(top_k, P): each router's rows of the dropped experts
// are deleted, the expert stacks [E, ...] are cut to the kept experts in
// ascending order, the expert bias is cut alike, and every other weight is
// copied. Deleting rows routes exactly as masking them in the full model, so
// the pruned model computes what the full model computes with the dropped
// experts masked.
//
// Dimension legend: N tokens, D model width, E experts of a layer before
// pruning, P experts kept, K experts per token, F expert hidden width, M
// kept routing slots.
package prune
