package layers

import (
	"math"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// TestLoRAMergeEqualsAdapted: after MergeLoRA the model computes the adapted
// model's logits (1e-5 in float32, 1e-12 in float64) with no adapters left
// and the base parameters' trainability restored.
func TestLoRAMergeEqualsAdapted(t *testing.T) {
	for _, tc := range []struct {
		dt  autograd.DType
		tol float64
	}{{autograd.Float32, 1e-5}, {autograd.Float64, 1e-12}} {
		cfg := allTargets()
		cfg.RSLoRA = true
		m := attached(t, tc.dt, cfg, true)
		base := logitsOfFresh(t, tc.dt)
		adapted := logits(m, ForwardOptions{})
		moved := 0.0
		for i := range adapted {
			moved = max(moved, math.Abs(adapted[i]-base[i]))
		}
		if moved < 1e-3 {
			t.Fatalf("%v: the adapters move the logits by only %g", tc.dt, moved)
		}
		if err := m.MergeLoRA(); err != nil {
			t.Fatal(err)
		}
		merged := logits(m, ForwardOptions{})
		for i := range merged {
			if d := math.Abs(merged[i] - adapted[i]); d > tc.tol {
				t.Fatalf("%v: logit %d merged %v, adapted %v (|diff| %g)", tc.dt, i, merged[i], adapted[i], d)
			}
		}
		if m.Adapters() != nil || m.Blocks[1].MoE.Router.GateAdapter() != nil || m.Blocks[1].MoE.Experts.LoRA1 != nil {
			t.Fatalf("%v: adapters left after the merge", tc.dt)
		}
		if _, ok := m.AttachedLoRA(); ok {
			t.Fatalf("%v: AttachedLoRA still reports adapters", tc.dt)
		}
		if len(m.Trainable()) != len(m.Params()) {
			t.Fatalf("%v: %d of %d parameters trainable after the merge", tc.dt, len(m.Trainable()), len(m.Params()))
		}
		if err := m.MergeLoRA(); err == nil || !strings.Contains(err.Error(), "no LoRA adapters to merge") {
			t.Fatalf("%v: second merge: %v", tc.dt, err)
		}
	}
}

// logitsOfFresh returns the base model's logits.
func logitsOfFresh(t *testing.T, dt autograd.DType) []float64 {
	t.Helper()
	m, err := New(tinyConfig(), dt, 1)
	if err != nil {
		t.Fatal(err)
	}
	return logits(m, ForwardOptions{})
}

// TestMergeKeepsFrozenBase: parameters frozen before AttachLoRA are frozen
// again after MergeLoRA.
func TestMergeKeepsFrozenBase(t *testing.T) {
	m, err := New(tinyConfig(), autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze(func(name string) bool { return strings.HasPrefix(name, "embed_tokens") })
	if _, err := m.AttachLoRA(allTargets(), 1); err != nil {
		t.Fatal(err)
	}
	if err := m.MergeLoRA(); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if want := !strings.HasPrefix(p.Name, "embed_tokens"); p.RequiresGrad() != want {
			t.Errorf("%s requires grad %v after the merge, want %v", p.Name, p.RequiresGrad(), want)
		}
	}
}

// TestSetAdapters: saved adapters load into a freshly attached model and
// give the same logits; a missing, misshapen or unknown tensor is an error
// naming it, and nothing is copied then.
func TestSetAdapters(t *testing.T) {
	src := attached(t, autograd.Float64, allTargets(), true)
	saved := map[string]*autograd.Tensor{}
	for _, a := range src.Adapters() {
		saved[a.Name] = autograd.ToFloat32(a) // values convert to the model's dtype
	}
	dst := attached(t, autograd.Float64, allTargets(), false)
	const q = "layers.0.self_attn.q_proj.lora_B"
	bad := func(edit func(map[string]*autograd.Tensor)) map[string]*autograd.Tensor {
		c := map[string]*autograd.Tensor{}
		for k, v := range saved {
			c[k] = v
		}
		edit(c)
		return c
	}
	for _, tc := range []struct {
		tensors map[string]*autograd.Tensor
		want    string
	}{
		{bad(func(c map[string]*autograd.Tensor) { delete(c, q) }), `adapter "` + q + `" is missing`},
		{bad(func(c map[string]*autograd.Tensor) { c[q] = autograd.New(autograd.Float64, 2, 2) }), `adapter "` + q + `" has shape [2 2], the model's is [8 2]`},
		{bad(func(c map[string]*autograd.Tensor) { c["layers.0.mlp.w9.lora_A"] = autograd.New(autograd.Float64, 1) }), `tensor "layers.0.mlp.w9.lora_A" is not an adapter of this model`},
	} {
		err := dst.SetAdapters(tc.tensors)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "layers.SetAdapters: ") {
			t.Errorf("error %v, want it to contain %q", err, tc.want)
		}
		for _, a := range dst.Adapters() {
			if strings.HasSuffix(a.Name, ".lora_B") && a.At(0) != 0 {
				t.Fatalf("a failed SetAdapters copied %s", a.Name)
			}
		}
	}
	if err := dst.SetAdapters(saved); err != nil {
		t.Fatal(err)
	}
	want, got := logits(src, ForwardOptions{}), logits(dst, ForwardOptions{})
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-6 { // the values went through float32
			t.Fatalf("logit %d = %v after SetAdapters, want %v", i, got[i], want[i])
		}
	}
	plain, err := New(tinyConfig(), autograd.Float64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetAdapters(saved); err == nil || !strings.Contains(err.Error(), "has no LoRA adapters") {
		t.Errorf("SetAdapters without adapters: %v", err)
	}
}
