// Package router owns MoE routing, the first of the MoE layer's four steps
// (route, dispatch, experts, combine): router scores -> (probs, each token's
// chosen experts, the slot table with its combine weights), expert capacity
// and slot dropping.
//
// Differentiable values (logits, probs, combine weights) are built from
// autograd ops on the caller's tape, so gradients flow into the gate weight
// and the router input. Selection, capacity and the slot table are plain
// integer bookkeeping: a few slices per call, nothing allocated per token.
//
// # The slot table
//
// Route returns a Routing. Its slot table is the plan a dispatcher follows,
// one row per kept slot (a token copy sent to one expert), grouped by expert
// with tokens ascending within a group:
//
//	Token   [M]    token of slot m
//	Expert  [M]    expert of slot m (non-decreasing)
//	Weight  [M, 1] combine weight of slot m, on the tape
//	Offsets [E+1]  expert e's slots are rows Offsets[e] to Offsets[e+1]
//
// Dispatch gathers x's rows Token, the experts run on the groups Offsets
// bounds, and combine adds Weight[m] * out[m] into row Token[m]: nobody
// computes which token a slot belongs to. Choices and ChoiceOffsets list
// every token's chosen experts, dropped ones included; ChoiceCounts turns
// them into the per-expert (or per-sequence, per-expert) counts the
// load-balancing losses take. A token may choose any number of experts, so
// routers that choose a variable number per token fit the same table.
//
// # Router types
//
// A router type is a Type (its config checks and a Scorer factory) in the
// registry, one file each; its Scorer maps logits to Scores: the probs, the
// selection scores and the combine-weight source. Selection (top k with the
// selection-only expert bias), capacity and the slot table are shared.
//   - "topk_softmax" (Mixtral): probs = softmax(logits) over E; the k largest
//     probs are chosen; weights are the chosen probs, renormalised to sum 1
//     when Normalize is set. PreSoftmax chooses on the logits and takes the
//     softmax over the k chosen logits.
//   - "sigmoid" (DeepSeek-V3): s = sigmoid(logits); the k largest s (plus the
//     expert bias) are chosen; weights = s_chosen / sum(s_chosen).
//   - "noisy_topk" (Shazeer et al. 2017): in training the logits get
//     N(0,1) * softplus(x · Wnoise^T) * NoiseStd added; the top k of these
//     noisy logits are kept and softmaxed. No noise at evaluation.
//
// Dimension legend: N tokens, D model width, E experts, K experts per token,
// C expert choices (N*K under top-k, dropped ones included), M kept slots
// (C minus the dropped).
package router
