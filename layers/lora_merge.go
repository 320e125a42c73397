package layers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// MergeLoRA folds every adapter into the weight it adapts, W += s·B·A (per
// expert for expert weights), removes the adapters and gives every base
// parameter back the trainability it had before AttachLoRA. The merged
// model computes what the adapted one did in evaluation, up to rounding.
func (m *Model) MergeLoRA() error {
	if m.lora == nil {
		return errors.New("layers.MergeLoRA: the model has no LoRA adapters to merge (AttachLoRA adds them)")
	}
	for _, s := range m.lora.sites {
		s.lora.mergeInto(s.base)
		s.attach(nil)
	}
	for i, p := range m.params {
		p.SetRequiresGrad(m.lora.wasTrainable[i])
	}
	m.lora = nil
	return nil
}

// SetAdapters copies saved adapter values into the attached adapters, by
// name (Adapters' names). It is strict: every adapter must be present with
// its shape, and no other tensor may be; on error nothing is copied. Values
// convert to the model's dtype.
func (m *Model) SetAdapters(tensors map[string]*autograd.Tensor) error {
	if m.lora == nil {
		return errors.New("layers.SetAdapters: the model has no LoRA adapters (AttachLoRA with the saved configuration first)")
	}
	var errs []error
	own := m.Adapters()
	names := make([]string, len(own))
	for i, a := range own {
		names[i] = a.Name
		t, ok := tensors[a.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("adapter %q is missing", a.Name))
		case t == nil:
			errs = append(errs, fmt.Errorf("adapter %q is nil", a.Name))
		case !slices.Equal(t.Shape(), a.Shape()):
			errs = append(errs, fmt.Errorf("adapter %q has shape %v, the model's is %v (a different rank or model?)", a.Name, t.Shape(), a.Shape()))
		}
	}
	var extra []string
	for name := range tensors {
		if !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		errs = append(errs, fmt.Errorf("tensor %q is not an adapter of this model (targets %s)", name, strings.Join(m.lora.cfg.Targets, ",")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("layers.SetAdapters: %w", errors.Join(errs...))
	}
	for _, a := range own {
		t := tensors[a.Name]
		for i := range a.Len() {
			a.Set(i, t.At(i))
		}
		a.ZeroGrad()
	}
	return nil
}
