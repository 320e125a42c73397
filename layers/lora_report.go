package layers

import (
	"fmt"
	"slices"
	"strings"
)

// LoRAReport says what AttachLoRA adapted: per target, where it matched and
// how many adapters it made, and the trainable and total parameter counts.
type LoRAReport struct {
	Targets []LoRATargetReport // in LoRAConfig.Targets order
	// AdapterParams is the number of adapter elements: the sum over adapted
	// weights [Out, In] of R·(In+Out), times E for expert weights.
	AdapterParams int
	// TrainableParams counts the elements that train: the adapters and any
	// base parameter still requiring grad (none right after AttachLoRA).
	TrainableParams int
	TotalParams     int // base parameters plus adapters
}

// LoRATargetReport is one target's matches.
type LoRATargetReport struct {
	Target string
	Layers []int // the layers it matched in, ascending
	// PerLayer[i] is the number of weights adapted in Layers[i]: 1, or the
	// layer's expert count for routed-expert targets (one adapter each).
	PerLayer []int
	Matched  int // sum of PerLayer
	Params   int // adapter elements
}

// loraReport builds the report of the attached adapters.
func (m *Model) loraReport() *LoRAReport {
	r := &LoRAReport{}
	for _, t := range m.lora.cfg.Targets {
		tr := LoRATargetReport{Target: t}
		for _, s := range m.lora.sites {
			if s.target != t {
				continue
			}
			n := max(s.experts, 1)
			tr.Layers = append(tr.Layers, s.layer)
			tr.PerLayer = append(tr.PerLayer, n)
			tr.Matched += n
			tr.Params += s.lora.A.Len() + s.lora.B.Len()
		}
		r.AdapterParams += tr.Params
		r.Targets = append(r.Targets, tr)
	}
	r.TrainableParams = m.NumTrainable()
	r.TotalParams = m.NumParams() + r.AdapterParams
	return r
}

// String renders the report, one line per target, e.g.
// "w1: 4 layers x 8 experts = 32 adapters, 12288 parameters".
func (r *LoRAReport) String() string {
	var b strings.Builder
	pct := 0.0
	if r.TotalParams > 0 {
		pct = 100 * float64(r.TrainableParams) / float64(r.TotalParams)
	}
	fmt.Fprintf(&b, "lora: %d trainable of %d parameters (%.2f%%), %d in adapters\n", r.TrainableParams, r.TotalParams, pct, r.AdapterParams)
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "  %s: %s = %d adapters, %d parameters\n", t.Target, t.perLayer(), t.Matched, t.Params)
	}
	return b.String()
}

// perLayer says how the target's adapters spread over layers and experts.
func (t LoRATargetReport) perLayer() string {
	layers := fmt.Sprintf("%d layers", len(t.Layers))
	if len(t.Layers) == 1 {
		layers = "1 layer"
	}
	if slices.Max(t.PerLayer) == 1 {
		return layers
	}
	if slices.Min(t.PerLayer) == t.PerLayer[0] && slices.Max(t.PerLayer) == t.PerLayer[0] {
		return fmt.Sprintf("%s x %d experts", layers, t.PerLayer[0])
	}
	parts := make([]string, len(t.PerLayer))
	for i, n := range t.PerLayer {
		parts[i] = fmt.Sprint(n)
	}
	return fmt.Sprintf("%s x (%s) experts", layers, strings.Join(parts, "+"))
}
