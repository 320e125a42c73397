package train

import (
	"fmt"
	"strings"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// AdapterDir is where a fine-tuning run keeps its LoRA adapter in PEFT's
// layout: RUN_DIR/adapter and, in every checkpoint, STEP_DIR/adapter.
const AdapterDir = "adapter"

// adapterConfig describes a model's attached adapters for a PEFT file.
func adapterConfig(l layers.LoRAConfig, base string) checkpoint.AdapterConfig {
	return checkpoint.AdapterConfig{Rank: l.Rank, Alpha: l.Alpha, Dropout: l.Dropout, Targets: l.Targets,
		RSLoRA: l.RSLoRA, Init: l.Init, BaseModel: base}
}

// loraConfig is the layers configuration a PEFT file's adapters need.
func loraConfig(a checkpoint.AdapterConfig) layers.LoRAConfig {
	return layers.LoRAConfig{Rank: a.Rank, Alpha: a.Alpha, Dropout: a.Dropout, Targets: a.Targets, RSLoRA: a.RSLoRA, Init: a.Init}
}

// SaveAdapter writes m's LoRA adapters to dir in PEFT's layout
// (adapter_model.safetensors and adapter_config.json); base names the base
// model in the config. A model without adapters is an error.
func SaveAdapter(dir string, m *layers.Model, base string) error {
	l, ok := m.AttachedLoRA()
	if !ok {
		return fmt.Errorf("saving the adapter to %s: the model has no LoRA adapters", dir)
	}
	ts := make(map[string]*autograd.Tensor)
	for _, a := range m.Adapters() {
		ts[a.Name] = a
	}
	return checkpoint.SaveAdapter(dir, adapterConfig(l, base), ts)
}

// AttachAdapter reads the PEFT adapter in dir and attaches it to m (a base
// model without adapters): the adapter's own configuration decides rank,
// scale and targets, and every tensor must fit m (errors name the tensor).
// It returns what was adapted.
func AttachAdapter(m *layers.Model, dir string) (*layers.LoRAReport, error) {
	a, ts, err := checkpoint.LoadAdapter(dir)
	if err != nil {
		return nil, err
	}
	rep, err := m.AttachLoRA(loraConfig(a), 0)
	if err != nil {
		return nil, fmt.Errorf("adapter %s: %w", dir, err)
	}
	if err := m.SetAdapters(ts); err != nil {
		return nil, fmt.Errorf("adapter %s does not fit the model: %w", dir, err)
	}
	return rep, nil
}

// hasAdapters reports whether a checkpoint's model tensors include LoRA
// adapters (a LoRA fine-tuning run's checkpoint holds them beside the base).
func hasAdapters(ts map[string]*autograd.Tensor) bool {
	for name := range ts {
		if strings.HasSuffix(name, ".lora_A") {
			return true
		}
	}
	return false
}

// attachForCheckpoint attaches the adapters a LoRA run's checkpoint holds,
// with the run's lora.* configuration, so that the checkpoint loads strictly.
func attachForCheckpoint(m *layers.Model, c *configs.Config, ts map[string]*autograd.Tensor) error {
	if !hasAdapters(ts) {
		return nil
	}
	if _, err := m.AttachLoRA(LoRAConfig(c), uint64(c.Train.Seed)); err != nil {
		return fmt.Errorf("the checkpoint holds LoRA adapters, but its lora.* configuration does not fit them: %w", err)
	}
	return nil
}
