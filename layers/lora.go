package layers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// LoRA target names, in the HF module vocabulary. The attention projections
// and the router keep their HF names; the routed experts' weights are the
// Mixtral names w1 (gate), w3 (up) and w2 (down), each with one adapter per
// expert; the dense MLP and the shared experts use the Llama names
// gate_proj (w1), up_proj (w3) and down_proj (w2).
const (
	TargetQ        = "q_proj"
	TargetK        = "k_proj"
	TargetV        = "v_proj"
	TargetO        = "o_proj"
	TargetW1       = "w1"
	TargetW2       = "w2"
	TargetW3       = "w3"
	TargetGateProj = "gate_proj"
	TargetUpProj   = "up_proj"
	TargetDownProj = "down_proj"
	TargetGate     = "gate"
)

// LoRA initialisations of A (B always starts at zero).
const (
	// LoRAInitKaiming draws A from Kaiming-uniform with a = sqrt(5), PEFT's
	// default (init_lora_weights = true): U(-1/sqrt(In), 1/sqrt(In)).
	LoRAInitKaiming = "kaiming"
	// LoRAInitGaussian draws A from N(0, (1/R)²), PEFT's "gaussian".
	LoRAInitGaussian = "gaussian"
)

// LoRATargets returns every target name AttachLoRA knows, in model order.
func LoRATargets() []string {
	return []string{TargetQ, TargetK, TargetV, TargetO, TargetGate, TargetW1, TargetW3, TargetW2, TargetGateProj, TargetUpProj, TargetDownProj}
}

// LoRAConfig describes the low-rank adapters AttachLoRA adds: for every
// adapted weight W [Out, In], h = W x + s·B(A x) with A [R, In], B [Out, R]
// and s = Alpha/R (Alpha/sqrt(R) with RSLoRA).
type LoRAConfig struct {
	Rank    int      // R >= 1
	Alpha   float64  // > 0
	Dropout float64  // on the adapter's input in training, in [0, 1)
	Targets []string // a non-empty subset of LoRATargets, each named once
	RSLoRA  bool     // rank-stabilised scaling (Kalajdzievski 2023)
	Init    string   // LoRAInitKaiming (also "") or LoRAInitGaussian
}

// Validate reports every problem of cfg, each naming the field and value.
func (cfg LoRAConfig) Validate() error {
	var errs []error
	if cfg.Rank < 1 {
		errs = append(errs, fmt.Errorf("LoRA Rank %d: must be at least 1", cfg.Rank))
	}
	if !(cfg.Alpha > 0) || math.IsInf(cfg.Alpha, 0) {
		errs = append(errs, fmt.Errorf("LoRA Alpha %v: must be a finite number > 0", cfg.Alpha))
	}
	if !(cfg.Dropout >= 0 && cfg.Dropout < 1) {
		errs = append(errs, fmt.Errorf("LoRA Dropout %v: must be in [0, 1)", cfg.Dropout))
	}
	if cfg.Init != "" && cfg.Init != LoRAInitKaiming && cfg.Init != LoRAInitGaussian {
		errs = append(errs, fmt.Errorf("LoRA Init %q: must be %q or %q", cfg.Init, LoRAInitKaiming, LoRAInitGaussian))
	}
	if len(cfg.Targets) == 0 {
		errs = append(errs, fmt.Errorf("LoRA Targets is empty: name at least one of %s", strings.Join(LoRATargets(), ", ")))
	}
	known := LoRATargets()
	for i, t := range cfg.Targets {
		switch {
		case !slices.Contains(known, t):
			errs = append(errs, fmt.Errorf("LoRA Targets: unknown target %q: known targets are %s", t, strings.Join(known, ", ")))
		case slices.Contains(cfg.Targets[:i], t):
			errs = append(errs, fmt.Errorf("LoRA Targets: %q is named twice", t))
		}
	}
	return errors.Join(errs...)
}

// Scale returns s: Alpha/Rank, or Alpha/sqrt(Rank) with RSLoRA.
func (cfg LoRAConfig) Scale() float64 {
	if cfg.RSLoRA {
		return cfg.Alpha / math.Sqrt(float64(cfg.Rank))
	}
	return cfg.Alpha / float64(cfg.Rank)
}

// targets reports whether cfg adapts target name.
func (cfg LoRAConfig) targets(name string) bool { return slices.Contains(cfg.Targets, name) }
