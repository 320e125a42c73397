// Package router owns MoE routing, the first of the MoE layer's four steps
// (route, dispatch, experts, combine): router scores -> (probs, top-k experts
// and combine weights, tokens per expert), expert capacity and slot dropping,
// and the permutation plan (Order, Offsets) a dispatcher follows.
//
// Differentiable values (logits, probs, combine weights) are built from
// autograd ops on the caller's tape, so gradients flow into the gate weight
// and the router input. Selection, capacity and the plan are plain integer
// bookkeeping: a few slices per call, nothing allocated per token.
//
// Router types (Config.Type):
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
// A slot is one (token, choice) pair: slot s is token s/K's choice s%K, so
// there are M = N*K slots.
//
// Dimension legend: N tokens, D model width, E experts, K experts per token,
// M routed slots (N*K).
package router
