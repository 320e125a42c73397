// Package train is the training loop shared by pretrain, upcycle-continue and
// finetune: micro-batches with gradient accumulation, the auxiliary MoE
// losses, the NaN/Inf guard, clipping, AdamW with its schedule, evaluation,
// metrics, progress, and checkpoints that resume bit for bit.
//
// It also builds models from configs (ModelConfig, LoadModel) and runs them
// for evaluation (Evaluate) and sampling (Generate).
//
// Dimension legend: B batch (micro_batch_size), T sequence (seq_len), N tokens
// (B*T), D model width, E experts, K experts per token, V vocabulary.
package train
