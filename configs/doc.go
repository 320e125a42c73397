// Package configs owns moetrain's configuration: the typed Config, its defaults, its validation,
// loading with viper, and the built-in YAML presets (embedded from presets/*.yaml).
//
// Program logic reads the typed Config and never viper. A configuration is built in layers; for each
// key the first layer that sets it wins:
//
//	--set key=value  (LoadOptions.Sets)
//	command-line flags (LoadOptions.Flags, by key)
//	environment       (MOETRAIN_ + key with "." and "-" as "_": MOETRAIN_TRAIN_LR=0.01)
//	file or preset    (LoadOptions.ConfigRef: "tiny" or "run.yaml")
//	defaults          (Default, the tiny preset)
//
// Keys are grouped in sections: model, moe (with moe.router), train, data, parallel, upcycle and
// lora; Keys lists them all. Unknown keys, values of the wrong type and invalid values are errors that
// name the key, the value and its source, and are reported all together (Errors).
//
// Validate is the one check of a configuration: whatever the model, router and optimizer builders
// would refuse, it refuses first, in the same form (key, value, source, what to do), so a
// configuration that `moetrain config show` prints also builds for `moetrain pretrain`. Beyond each
// key's range it refuses combinations: moe.router.pre_softmax only with moe.router.type topk_softmax;
// moe.router.normalize false only with topk_softmax without pre_softmax (the other routers' K
// weights always sum to 1); noise_std > 0 with noisy_topk; top_k within the fewest experts of any
// MoE layer; n_kv_heads dividing n_heads and an even head width; every real value finite. The
// router combinations are checked only when the model has an MoE layer. CheckRunnable reports the
// settings that are valid but that this version cannot train with (bf16, several ranks); the
// trainer refuses them with its errors.
//
// The upcycle keys say how `moetrain upcycle` turns a dense model into the configuration's MoE model
// (package train/upcycle); nothing else reads them. Their defaults are valid for every model, and
// their shape rules apply only to the method that needs them: upcycle.granularity above 1 only with
// upcycle.method granular, which then needs moe.top_k and every layer's moe.num_experts to be
// multiples of it (when the model has MoE layers). What depends on the source model (the dense
// FFN's width against moe.expert_ffn_hidden_size and moe.shared_experts) is checked by the upcycle
// conversion, which knows the source.
//
// The lora keys describe the low-rank adapters `moetrain finetune --lora` attaches; nothing else
// reads them. Validate checks their ranges and that lora.targets names known targets (LoRATargets),
// each once; whether the model has weights for every target (w1 needs MoE layers, gate_proj a dense
// MLP or a shared expert) is checked when the adapters are attached, so the default targets, which
// name the routed experts, do not make a dense configuration invalid.
//
// train.warmup_steps may reach or pass train.steps: a short run of a recipe written for a long one
// (--set train.steps=30 on a preset that warms up over 30 steps) then warms up over a tenth of the
// run, floor(steps/10), and the trainer says so once in its log.
//
// Two keys take either an integer or a list: moe.layer_freq (every N-th layer is MoE, or a 0/1 flag
// per layer) and moe.num_experts (one count, or one per MoE layer). Callers read them through
// (*Config).MoELayers and (*Config).ExpertsForLayer, never by parsing them.
// lora.targets is a list of names: a YAML list, or one string with the names separated by commas
// (--set lora.targets=q_proj,v_proj).
//
// Dimension legend used in comments: B batch, T sequence, N tokens (B*T), D model width, H heads,
// Dh head width, E experts, K experts per token, F expert hidden width, V vocabulary.
package configs
