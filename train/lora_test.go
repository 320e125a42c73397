package train

// Mutations caught: adding a name to configs.LoRATargets, or dropping one (gate) from it, makes
// TestLoRATargetsAgree fail; renaming configs.LoRAInitGaussian's value makes TestLoRATargetsAgree
// fail; a preset whose lora.targets name weights its model lacks (w1 on dense) makes
// TestLoRAPresetsAttach fail; LoRAConfig sharing c's Targets slice makes TestLoRAConfigCopies fail.

import (
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// TestLoRATargetsAgree: configs accepts exactly the targets and initialisations layers knows.
func TestLoRATargetsAgree(t *testing.T) {
	if got, want := configs.LoRATargets(), layers.LoRATargets(); !slices.Equal(got, want) {
		t.Errorf("configs.LoRATargets() = %v, layers.LoRATargets() = %v", got, want)
	}
	for _, init := range []configs.LoRAInit{configs.LoRAInitKaiming, configs.LoRAInitGaussian} {
		c := configs.Default()
		c.LoRA.Init = init
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := LoRAConfig(c).Validate(); err != nil {
			t.Errorf("lora.init %s: layers refuses it: %v", init, err)
		}
	}
	if string(configs.LoRAInitKaiming) != layers.LoRAInitKaiming || string(configs.LoRAInitGaussian) != layers.LoRAInitGaussian {
		t.Errorf("inits %q %q, layers %q %q", configs.LoRAInitKaiming, configs.LoRAInitGaussian, layers.LoRAInitKaiming, layers.LoRAInitGaussian)
	}
	c := configs.Default()
	c.LoRA.Targets = configs.LoRATargets()
	if err := LoRAConfig(c).Validate(); err != nil {
		t.Errorf("every target: layers refuses %v", err)
	}
}

// TestLoRAPresetsAttach: every preset's lora section attaches to that preset's model (on a narrow
// copy of it: the targets depend only on which layers are MoE and which have MLPs), and adapts
// every target it names.
func TestLoRAPresetsAttach(t *testing.T) {
	narrow := []string{"model.d_model=16", "model.n_heads=2", "model.n_kv_heads=1", "model.ffn_hidden_size=16",
		"moe.expert_ffn_hidden_size=8", "model.max_seq_len=16", "train.seq_len=16", "moe.num_experts=4", "moe.top_k=2"}
	for _, preset := range configs.Presets() {
		sets := narrow
		c0, err := configs.Load(configs.LoadOptions{ConfigRef: preset})
		if err != nil {
			t.Fatal(err)
		}
		if c0.IsDense() {
			sets = slices.DeleteFunc(slices.Clone(narrow), func(s string) bool { return s == "moe.num_experts=4" })
		}
		c, err := configs.Load(configs.LoadOptions{ConfigRef: preset, Sets: sets})
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		m, err := layers.New(ModelConfig(c), autograd.Float32, 1)
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		rep, err := m.AttachLoRA(LoRAConfig(c), 1)
		if err != nil {
			t.Errorf("%s: its lora section does not attach: %v", preset, err)
			continue
		}
		if len(rep.Targets) != len(c.LoRA.Targets) {
			t.Errorf("%s: %d targets adapted, want %d:\n%s", preset, len(rep.Targets), len(c.LoRA.Targets), rep)
		}
	}
}

// TestLoRAConfigCopies: every key reaches the layers config, and its targets list is its own.
func TestLoRAConfigCopies(t *testing.T) {
	c := configs.Default()
	c.LoRA = configs.LoRAConfig{Rank: 3, Alpha: 5, Dropout: 0.25, Targets: []string{"gate", "w2"}, RSLoRA: true, Init: configs.LoRAInitGaussian}
	got := LoRAConfig(c)
	want := layers.LoRAConfig{Rank: 3, Alpha: 5, Dropout: 0.25, Targets: []string{"gate", "w2"}, RSLoRA: true, Init: layers.LoRAInitGaussian}
	if got.Rank != want.Rank || got.Alpha != want.Alpha || got.Dropout != want.Dropout || !slices.Equal(got.Targets, want.Targets) ||
		got.RSLoRA != want.RSLoRA || got.Init != want.Init {
		t.Errorf("LoRAConfig = %+v, want %+v", got, want)
	}
	got.Targets[0] = "q_proj"
	if c.LoRA.Targets[0] != "gate" {
		t.Error("LoRAConfig shares the configuration's targets list")
	}
}
