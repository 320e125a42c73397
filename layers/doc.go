// Package layers builds moetrain's model from autograd ops: Linear, Embedding,
// RMSNorm, causal GQA attention with RoPE, the SwiGLU MLP, the MoE layer (route,
// dispatch, experts, combine), Block and Model.
//
// Every module owns its parameters as *autograd.Tensor with full dotted names
// ("layers.3.moe.experts.w1") set at construction, so checkpoints and
// optimizers address them without walking the tree. Forward methods take the
// Tape to record on; a no-grad tape gives inference.
//
// The MoE layer follows the four-step contract: router.Route picks experts
// and returns the slot table (per kept slot its token, expert and combine
// weight), a Dispatcher groups token copies by expert following it (the local
// one permutes; an expert-parallel one also exchanges them) and returns a
// Plan, Experts runs one GEMM per expert on exactly its tokens, bounded by
// the Plan's offsets, and knows nothing of communication, and the Dispatcher
// combines the outputs back, weighted, from the Plan. A Dispatcher keeps no
// per-call state, so a layer may run any number of times on one tape. layers
// defines the Dispatcher interface so that parallel/ can supply its own
// without layers importing it: Config.NewDispatcher hands New one per MoE
// layer. Package moetest holds the per-token reference and the conformance
// suite every Dispatcher's tests call.
//
// Dimension legend: B batch, T sequence, N tokens (B*T), D model width, H heads,
// Hkv key/value heads, Dh head width, E experts, K experts per token, F expert
// hidden width, V vocabulary, M routed slots kept (<= N*K).
package layers
