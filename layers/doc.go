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
// LoRA fine-tuning (Model.AttachLoRA) freezes every base parameter and adds
// low-rank adapters h = W x + s·B(A x) to the weights a LoRAConfig names:
// attention projections, the dense MLP and shared experts, the router's gate
// (through router.GateAdapter) and the routed experts, where every expert
// gets its own adapter, stacked as A [E, R, In] and B [E, Out, R] and run by
// grouped GEMMs on the experts' offsets. A starts from PEFT's default
// Kaiming-uniform and B at zero, so the attached model equals the base until
// B trains. Adapters are named after the module they adapt plus ".lora_A" or
// ".lora_B", listed by Adapters and kept out of Params; MergeLoRA folds them
// into the weights, and SetAdapters loads saved ones. A target that matches
// nothing in the model is an error: an adapter never silently misses the
// experts.
//
// Dimension legend: B batch, T sequence, N tokens (B*T), D model width, H heads,
// Hkv key/value heads, Dh head width, E experts, K experts per token, F expert
// hidden width, V vocabulary, M routed slots kept (<= N*K), R LoRA rank.
package layers
