package train

import (
	"slices"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// LoRAConfig maps the configuration's lora section to the adapters layers.Model.AttachLoRA adds:
// rank, alpha, adapter dropout, targets (copied, so the result does not share c's list), rank-
// stabilised scaling and the initialisation of A. configs' Validate has checked every value that
// layers.LoRAConfig.Validate checks; whether the model has the targeted weights is AttachLoRA's
// check.
func LoRAConfig(c *configs.Config) layers.LoRAConfig {
	l := c.LoRA
	return layers.LoRAConfig{
		Rank:    l.Rank,
		Alpha:   l.Alpha,
		Dropout: l.Dropout,
		Targets: slices.Clone(l.Targets),
		RSLoRA:  l.RSLoRA,
		Init:    string(l.Init),
	}
}
