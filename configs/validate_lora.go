package configs

import (
	"fmt"
	"slices"
	"strings"
)

// lora checks the keys under lora: each key's range and the names in lora.targets, which must be
// LoRATargets, each once. It refuses what layers.LoRAConfig.Validate would refuse. Whether the model
// has the weights a target names (w1 needs MoE layers, gate_proj a dense MLP or a shared expert) is
// left to the adapter attachment, which knows the model being fine-tuned: the defaults name the
// routed experts, and a dense configuration that is never fine-tuned with adapters is not refused
// for its lora section.
func (v *checks) lora(c *Config) {
	l := c.LoRA
	v.atLeast("lora.rank", l.Rank, 1, "give the adapters' rank, e.g. 8")
	v.positive("lora.alpha", l.Alpha, "the scale is alpha/rank; a common choice is twice the rank, e.g. 16")
	v.fraction("lora.dropout", l.Dropout, "use 0 for no adapter dropout, or e.g. 0.05")
	v.oneOf("lora.init", string(l.Init))
	v.loraTargets(l.Targets)
}

// loraTargets checks that names is a non-empty list of known targets with no name twice.
func (v *checks) loraTargets(names []string) {
	known := LoRATargets()
	choices := "the targets are " + strings.Join(known, ", ")
	if len(names) == 0 {
		v.fail("lora.targets", names, "names no target", "name at least one: "+choices+", e.g. q_proj,v_proj")
		return
	}
	for i, name := range names {
		switch {
		case !slices.Contains(known, name):
			hint := choices
			if sug := suggestValue(name, known); sug != "" {
				hint = fmt.Sprintf("did you mean %q? %s", sug, choices)
			}
			v.fail("lora.targets", names, fmt.Sprintf("has entry %d %q, which is not a target", i, name), hint)
		case slices.Contains(names[:i], name):
			v.fail("lora.targets", names, fmt.Sprintf("names %q twice (entries %d and %d)", name, slices.Index(names, name), i),
				"name each target once")
		}
	}
}
