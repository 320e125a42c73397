// Package train is the training loop behind pretrain (and the upcycling and
// finetuning commands to come): micro-batches with gradient accumulation, the auxiliary MoE
// losses, the NaN/Inf guard, clipping, AdamW with its schedule, evaluation,
// metrics, progress, and checkpoints that resume bit for bit.
//
// It also builds models from configs (ModelConfig, LoadModel) and runs them
// for evaluation (Evaluate) and sampling (Generate). Inference is the Go
// library face: open a checkpoint, run a forward pass, and read logits and
// any weight as a gorgonia.org/tensor Dense, or hand weights in from one.
//
// A Trainer runs on one autograd.Engine (Options.Engine; the default engine
// when nil): its training and evaluation tapes and AdamW take their cores
// and scratch from it, so trainers and ranks in one process share nothing.
//
// A step of train.grad_accum_steps (A) micro-batches minimises the LM
// cross-entropy averaged over all the step's trained tokens (targets that are
// not IgnoreIndex) plus the mean over its micro-batches of their router
// losses: micro-batch i, with n_i of the step's N trained targets, weighs n_i/N
// in the LM loss and 1/A in the router losses, and the reported losses are the
// same means. On pretraining data every target is trained, n_i/N is 1/A, and
// the step is the plain mean of the micro-batch losses; on fine-tuning data a
// micro-batch with few completion tokens counts for few tokens. A micro-batch
// with no trained target is not run (A then counts the others), and a step
// with none is logged and applies nothing (StepResult.Empty). The LM
// cross-entropy and the z-loss are means over a micro-batch's tokens and
// the sequence-level balancing loss (seq_aux_loss) a mean over its
// sequences, so with equal counts per micro-batch A micro-batches of B
// sequences give the step one batch of A*B would. The batch-level balancing
// loss (aux_loss) is computed over each micro-batch's own tokens, as
// Megatron-Core does, and averaged over the micro-batches: it is not the loss
// of the pooled A*B sequences. With moe.router.expert_bias, each MoE layer's
// bias moves once per applied step, after AdamW, by the kept-slot load summed
// over the step's micro-batches: bias_e += bias_update_rate * sign(mean load -
// load_e) (router.UpdateBias).
//
// Only the model's trainable parameters (layers.Model.Trainable) are
// trained: frozen ones collect no gradient, stay out of the gradient norm and
// have no AdamW state, but are saved with the model. Loading a model is
// strict (every tensor present, nothing extra, shapes equal; errors name the
// tensor and the file); LoadModelTensors with checkpoint.AssignOptions.Partial
// loads a subset and reports what was not in it.
//
// Dimension legend: B batch (micro_batch_size), T sequence (seq_len), N tokens
// (B*T), D model width, E experts, K experts per token, V vocabulary.
package train
