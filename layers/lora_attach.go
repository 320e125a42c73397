package layers

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// loraState is what AttachLoRA adds to a model.
type loraState struct {
	cfg   LoRAConfig
	sites []*loraSite // in model order
	// wasTrainable[i] is whether Params()[i] required grad before
	// AttachLoRA froze it; MergeLoRA restores it.
	wasTrainable []bool
}

// loraSite is one adapted weight: a Linear's, a router's gate or a stack of
// expert weights.
type loraSite struct {
	target  string
	layer   int
	experts int              // E for an expert stack, 0 for a 2-D weight
	base    *autograd.Tensor // [Out, In] or [E, Out, In]
	module  string           // the adapted module's name: base's without ".weight"
	lora    *LoRA
	attach  func(*LoRA) // sets (or, with nil, removes) the module's adapter
}

// AttachLoRA freezes every base parameter and adds low-rank adapters to the
// weights cfg.Targets names: h = W x + s·B(A x), A drawn from seed (see
// LoRAConfig.Init), B zero, so the attached model computes exactly what the
// base does until B trains. Routed experts get one adapter per expert, [E, R,
// In] and [E, Out, R], run on the experts' own offsets. Adapters are named
// after the module they adapt plus ".lora_A" and ".lora_B"
// ("layers.0.self_attn.q_proj.lora_A"). Params keeps listing the base
// parameters; Trainable and Adapters list the adapters. A target that
// matches nothing in this model is an error, and so is a second
// AttachLoRA; the model is unchanged on error.
func (m *Model) AttachLoRA(cfg LoRAConfig, seed uint64) (*LoRAReport, error) {
	if m.lora != nil {
		return nil, fmt.Errorf("layers.AttachLoRA: the model already has LoRA adapters (targets %s); merge them (MergeLoRA) or start from the base model", strings.Join(m.lora.cfg.Targets, ","))
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layers.AttachLoRA: %w", err)
	}
	if cfg.Init == "" {
		cfg.Init = LoRAInitKaiming
	}
	cfg.Targets = append([]string(nil), cfg.Targets...)
	sites := m.loraSites(cfg)
	for _, t := range cfg.Targets {
		if !matched(sites, t) {
			return nil, fmt.Errorf("layers.AttachLoRA: target %q matches nothing: %s adapts %s, and this model has %s", t, t, targetKind(t), m.describeFFNs())
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6f7261))
	st := &loraState{cfg: cfg, sites: sites, wasTrainable: make([]bool, len(m.params))}
	for i, p := range m.params {
		st.wasTrainable[i] = p.RequiresGrad()
	}
	m.Freeze(func(string) bool { return true })
	for _, s := range sites {
		s.lora = newLoRA(s.base, s.module, cfg, rng)
		s.attach(s.lora)
	}
	m.lora = st
	return m.loraReport(), nil
}

// loraSites lists the weights cfg adapts, in model order, without adapters.
func (m *Model) loraSites(cfg LoRAConfig) []*loraSite {
	var sites []*loraSite
	linear := func(target string, layer int, l *Linear) {
		if cfg.targets(target) {
			sites = append(sites, &loraSite{target: target, layer: layer, base: l.W, module: moduleName(l.W), attach: func(a *LoRA) { l.LoRA = a }})
		}
	}
	mlp := func(layer int, f *MLP) {
		linear(TargetGateProj, layer, f.W1)
		linear(TargetUpProj, layer, f.W3)
		linear(TargetDownProj, layer, f.W2)
	}
	for i, blk := range m.Blocks {
		a := blk.Attn
		linear(TargetQ, i, a.Q)
		linear(TargetK, i, a.K)
		linear(TargetV, i, a.V)
		linear(TargetO, i, a.O)
		if blk.MLP != nil {
			mlp(i, blk.MLP)
		}
		if blk.MoE == nil {
			continue
		}
		if r := blk.MoE.Router; cfg.targets(TargetGate) {
			g := r.Params()[0] // the gate weight [E, D]
			sites = append(sites, &loraSite{target: TargetGate, layer: i, base: g, module: moduleName(g), attach: func(a *LoRA) {
				if a == nil {
					r.SetGateAdapter(nil) // a nil *LoRA in the interface would not read as none
				} else {
					r.SetGateAdapter(a)
				}
			}})
		}
		x := blk.MoE.Experts
		experts := func(target string, w *autograd.Tensor, slot **LoRA) {
			if cfg.targets(target) {
				sites = append(sites, &loraSite{target: target, layer: i, experts: w.Dim(0), base: w, module: moduleName(w), attach: func(a *LoRA) { *slot = a }})
			}
		}
		experts(TargetW1, x.W1, &x.LoRA1)
		experts(TargetW3, x.W3, &x.LoRA3)
		experts(TargetW2, x.W2, &x.LoRA2)
		if blk.MoE.Shared != nil {
			mlp(i, blk.MoE.Shared)
		}
	}
	return sites
}

// moduleName returns the name of the module a weight belongs to: its own
// without a trailing ".weight" ("layers.0.self_attn.q_proj").
func moduleName(w *autograd.Tensor) string { return strings.TrimSuffix(w.Name, ".weight") }

// matched reports whether any site adapts target.
func matched(sites []*loraSite, target string) bool {
	for _, s := range sites {
		if s.target == target {
			return true
		}
	}
	return false
}

// targetKind says which weights a target name adapts.
func targetKind(target string) string {
	switch target {
	case TargetW1, TargetW2, TargetW3:
		return "the routed experts of MoE layers"
	case TargetGateProj, TargetUpProj, TargetDownProj:
		return "dense MLPs and shared experts"
	case TargetGate:
		return "the routers of MoE layers"
	}
	return "the attention of every layer"
}

// describeFFNs says what feed-forward layers the model has, for errors.
func (m *Model) describeFFNs() string {
	dense, moe, shared := 0, 0, 0
	for _, blk := range m.Blocks {
		switch {
		case blk.MoE == nil:
			dense++
		case blk.MoE.Shared != nil:
			moe++
			shared++
		default:
			moe++
		}
	}
	return fmt.Sprintf("%d layers: %d dense MLP, %d MoE (%d with shared experts)", len(m.Blocks), dense, moe, shared)
}

// AttachedLoRA returns the configuration AttachLoRA was given (Init filled
// in) and whether adapters are attached.
func (m *Model) AttachedLoRA() (LoRAConfig, bool) {
	if m.lora == nil {
		return LoRAConfig{}, false
	}
	cfg := m.lora.cfg
	cfg.Targets = append([]string(nil), cfg.Targets...)
	return cfg, true
}

// Adapters returns the adapter tensors, A then B per adapted module, in
// model order; nil without adapters. They are not in Params.
func (m *Model) Adapters() []*autograd.Tensor {
	if m.lora == nil {
		return nil
	}
	var out []*autograd.Tensor
	for _, s := range m.lora.sites {
		out = append(out, s.lora.Params()...)
	}
	return out
}
