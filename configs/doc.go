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
// Keys are grouped in sections: model, moe (with moe.router), train, data and parallel; Keys lists
// them all. Unknown keys, values of the wrong type and invalid values are errors that name the key,
// the value and its source, and are reported all together (Errors).
//
// Two keys take either an integer or a list: moe.layer_freq (every N-th layer is MoE, or a 0/1 flag
// per layer) and moe.num_experts (one count, or one per MoE layer). Callers read them through
// (*Config).MoELayers and (*Config).ExpertsForLayer, never by parsing them.
//
// Dimension legend used in comments: B batch, T sequence, N tokens (B*T), D model width, H heads,
// Dh head width, E experts, K experts per token, F expert hidden width, V vocabulary.
package configs
