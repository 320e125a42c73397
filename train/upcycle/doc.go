// Package upcycle turns trained dense models into Mixture-of-Experts models whose experts start from
// the dense FFN (sparse upcycling): what `moetrain upcycle` converts before it trains. Convert takes
// the target configuration (the source's model with MoE settings and the upcycle.* keys) and one or
// more sources, checks them against each other, and returns the new model, the AdamW moments to
// start it from when asked, and the parameter counts for the summary. It reads and writes no file.
//
// Every weight outside the upcycled FFNs is copied from the source (btx: the uniform average of the
// sources). Each dense layer of the source that is an MoE layer in the target is upcycled by
// upcycle.method:
//
//   - copy: every routed expert is the dense FFN (w1, w3, w2); the router rows are new, drawn from
//     N(0, upcycle.router_init_std²).
//   - granular: the FFN's hidden dimension F is cut into G = upcycle.granularity shards of F/G
//     (moe.expert_ffn_hidden_size); expert c·G+j is shard j of copy c, the G experts of one copy
//     share one router row, and w3 and w2 of every shard are multiplied by sqrt(G).
//   - drop: as copy, then in each expert round(upcycle.drop_ratio·F) neurons, a different random set
//     per expert, are re-initialised (their rows of w1 and w3, their columns of w2) from a normal with
//     the mean and standard deviation of the matrix they sit in.
//   - btx: the sources' FFNs in blocks: with S sources and E experts, experts s·E/S to (s+1)·E/S-1
//     are copies of source s's FFN; every other weight is the average of the sources.
//
// With upcycle.shared_expert the dense FFN is also kept as the always-on shared expert (btx: the
// average of the sources' FFNs), and w2 of the shared and of every routed expert is halved. With
// upcycle.noise_std > 0, N(0, noise_std²) is added to every routed expert weight after the copy
// (never to the shared expert); dropped neurons are drawn after the noise and carry none.
//
// Function preservation. With renormalised top-k routing (moe.router.normalize, or a router whose K
// weights always sum to one, and moe.capacity_factor 0), no noise and no drop, the upcycled model
// computes the dense model's function exactly. With copy, the K chosen experts' weights sum to one
// and every expert is the dense FFN, so their weighted sum is the FFN's output whatever the router
// chose. With granular, the G experts of one copy have equal scores, so top-k with K a multiple of G
// takes whole copies; each shard gets weight p_c/(G·Σp) and, with w3 and w2 both times sqrt(G),
// contributes G times its part of the FFN's output, so the K experts sum to the FFN's output. The
// factor G must fall on w3 and w2, which act linearly, and not on w1: silu(a·z) ≠ a·silu(z), so
// Megatron-Core's split of G into three cube roots, one on each of w1, w3 and w2, is exact only for
// an activation that is homogeneous of degree one (ReLU), not for SwiGLU's SiLU gate. The shared
// expert adds its own copy of the FFN; halving w2 of both the shared and the routed experts makes
// the two halves add up to the dense output (the alternative, a zero shared w2, would leave the
// shared expert without a gradient through w1 and w3 at the start).
//
// Optimizer moments (upcycle.carry_optimizer, when every source has AdamW moments) follow the
// weights: each weight copied or averaged brings its moments copied or averaged, each expert gets
// the moments of its FFN shard (not rescaled with the weight, no noise), and re-initialised neurons,
// new router rows and the noisy_topk noise weight of an upcycled layer start at zero.
//
// A source that already has MoE layers is refused unless upcycle.allow_moe_source: then its MoE
// layers are kept as they are (the target layer must have the same shape) and its dense layers are
// upcycled. btx takes dense sources only.
//
// Dimension legend: N tokens, D model width, V vocabulary, F the dense FFN's hidden width, Fe an
// expert's hidden width (F, or F/G for granular), E experts per MoE layer, K experts per token,
// G granularity (experts per copy of the FFN), S sources.
package upcycle
