package configs

// Mutations caught: dropping the lora.rank check makes TestValidateLoRA "rank 0" fail; checking
// lora.dropout with nonNegative instead of fraction makes "dropout 1" fail; removing the duplicate
// case of loraTargets makes "target twice" fail; returning early from loraTargets on an empty list
// without a failure makes "no targets" fail; dropping "gate" from LoRATargets makes "every target"
// and train's TestLoRATargetsAgree fail; dropping v.lora from Validate makes every invalid case fail;
// splitting no comma in a file's scalar (items = []string{node.Value}) makes TestLoRATargetForms
// "file string" fail; keeping empty entries makes "empty entry" fail.

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestValidateLoRA breaks one lora rule at a time: exactly lora's key is reported, with its value,
// what is wrong and the valid choices.
func TestValidateLoRA(t *testing.T) {
	choices := "the targets are q_proj, k_proj, v_proj, o_proj, gate, w1, w3, w2, gate_proj, up_proj, down_proj"
	cases := []struct {
		name  string
		edit  func(l *LoRAConfig)
		key   string // "" = valid
		value string
		msg   string // a part of the message, hint included
	}{
		{"defaults", func(l *LoRAConfig) {}, "", "", ""},
		{"rank 1", func(l *LoRAConfig) { l.Rank = 1 }, "", "", ""},
		{"rank 0", func(l *LoRAConfig) { l.Rank = 0 }, "lora.rank", "0", "must be at least 1"},
		{"rank negative", func(l *LoRAConfig) { l.Rank = -4 }, "lora.rank", "-4", "must be at least 1"},
		{"alpha 0", func(l *LoRAConfig) { l.Alpha = 0 }, "lora.alpha", "0", "> 0 and finite"},
		{"alpha negative", func(l *LoRAConfig) { l.Alpha = -16 }, "lora.alpha", "-16", "> 0 and finite"},
		{"alpha infinite", func(l *LoRAConfig) { l.Alpha = math.Inf(1) }, "lora.alpha", "+Inf", "> 0 and finite"},
		{"alpha NaN", func(l *LoRAConfig) { l.Alpha = math.NaN() }, "lora.alpha", "NaN", "> 0 and finite"},
		{"alpha small", func(l *LoRAConfig) { l.Alpha = 1e-3 }, "", "", ""},
		{"dropout 0.5", func(l *LoRAConfig) { l.Dropout = 0.5 }, "", "", ""},
		{"dropout 1", func(l *LoRAConfig) { l.Dropout = 1 }, "lora.dropout", "1", "[0, 1)"},
		{"dropout negative", func(l *LoRAConfig) { l.Dropout = -0.1 }, "lora.dropout", "-0.1", "[0, 1)"},
		{"dropout NaN", func(l *LoRAConfig) { l.Dropout = math.NaN() }, "lora.dropout", "NaN", "[0, 1)"},
		{"init gaussian", func(l *LoRAConfig) { l.Init = LoRAInitGaussian }, "", "", ""},
		{"init unknown", func(l *LoRAConfig) { l.Init = "xavier" }, "lora.init", `"xavier"`, "is not one of kaiming, gaussian"},
		{"init typo", func(l *LoRAConfig) { l.Init = "gausian" }, "lora.init", `"gausian"`, `did you mean "gaussian"?`},
		{"init empty", func(l *LoRAConfig) { l.Init = "" }, "lora.init", `""`, "kaiming, gaussian"},
		{"no targets", func(l *LoRAConfig) { l.Targets = nil }, "lora.targets", "[]", "names no target; name at least one: " + choices},
		{"empty target list", func(l *LoRAConfig) { l.Targets = []string{} }, "lora.targets", "[]", "names no target"},
		{"unknown target", func(l *LoRAConfig) { l.Targets = []string{"q_proj", "mlp"} }, "lora.targets", "[q_proj, mlp]",
			`has entry 1 "mlp", which is not a target; ` + choices},
		{"target typo", func(l *LoRAConfig) { l.Targets = []string{"v_prj"} }, "lora.targets", "[v_prj]",
			`has entry 0 "v_prj", which is not a target; did you mean "v_proj"? ` + choices},
		{"target in upper case", func(l *LoRAConfig) { l.Targets = []string{"Q_PROJ"} }, "lora.targets", "[Q_PROJ]", `did you mean "q_proj"?`},
		{"target twice", func(l *LoRAConfig) { l.Targets = []string{"w1", "w2", "w1"} }, "lora.targets", "[w1, w2, w1]",
			`names "w1" twice (entries 0 and 2); name each target once`},
		{"one target", func(l *LoRAConfig) { l.Targets = []string{"gate"} }, "", "", ""},
		{"every target", func(l *LoRAConfig) { l.Targets = LoRATargets() }, "", "", ""},
		{"dense names on an MoE model", func(l *LoRAConfig) { l.Targets = []string{"gate_proj", "up_proj", "down_proj"} }, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c.LoRA)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("want Errors, got %v", err)
			}
			if !slices.Equal(es.Keys(), []string{tc.key}) {
				t.Fatalf("keys = %v, want [%s]; error:\n%v", es.Keys(), tc.key, err)
			}
			if es[0].Value != tc.value {
				t.Errorf("Value = %q, want %q", es[0].Value, tc.value)
			}
			msg := es[0].Error()
			for _, want := range []string{tc.key + ": " + tc.value + " ", tc.msg} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if es[0].Hint == "" {
				t.Errorf("message %q says nothing about what to do", msg)
			}
		})
	}
}

// TestValidateLoRAEveryProblem: every bad lora key and every bad target is reported, in one error.
func TestValidateLoRAEveryProblem(t *testing.T) {
	c := Default()
	c.LoRA = LoRAConfig{Rank: 0, Alpha: -1, Dropout: 1, Targets: []string{"qproj", "w1", "w1"}, Init: "he"}
	var es Errors
	if err := c.Validate(); !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []string{"lora.rank", "lora.alpha", "lora.dropout", "lora.init", "lora.targets", "lora.targets"}
	if !slices.Equal(es.Keys(), want) {
		t.Errorf("keys = %v, want %v:\n%v", es.Keys(), want, es)
	}
}

// TestDenseConfigKeepsLoRADefaults: a dense model is valid with the default targets, which name the
// routed experts it does not have; attaching them is what refuses that.
func TestDenseConfigKeepsLoRADefaults(t *testing.T) {
	c, err := Load(LoadOptions{Sets: []string{"moe.num_experts=0"}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsDense() || !slices.Equal(c.LoRA.Targets, Default().LoRA.Targets) {
		t.Errorf("dense %v, targets %v", c.IsDense(), c.LoRA.Targets)
	}
}

// TestLoRATargetForms reads lora.targets in each form a source can write it.
func TestLoRATargetForms(t *testing.T) {
	qv := []string{"q_proj", "v_proj"}
	file := func(content string) LoadOptions { return LoadOptions{ConfigRef: writeFile(t, content)} }
	for _, tc := range []struct {
		name string
		opts LoadOptions
		want []string
	}{
		{"set comma list", LoadOptions{Sets: []string{"lora.targets=q_proj,v_proj"}}, qv},
		{"set comma list with spaces", LoadOptions{Sets: []string{"lora.targets=q_proj, v_proj"}}, qv},
		{"set flow list", LoadOptions{Sets: []string{"lora.targets=[q_proj, v_proj]"}}, qv},
		{"set one name", LoadOptions{Sets: []string{"lora.targets=gate"}}, []string{"gate"}},
		{"env", LoadOptions{Env: []string{"MOETRAIN_LORA_TARGETS=q_proj,v_proj"}}, qv},
		{"flag", LoadOptions{Flags: map[string]string{"lora.targets": "q_proj,v_proj"}}, qv},
		{"file list", file("lora:\n  targets: [q_proj, v_proj]\n"), qv},
		{"file block list", file("lora:\n  targets:\n    - q_proj\n    - v_proj\n"), qv},
		{"file string", file("lora:\n  targets: q_proj, v_proj\n"), qv},
		{"file anchors", file("x: &q q_proj\nlora:\n  targets: [*q, v_proj]\n"), nil}, // x is an unknown key
		{"file dotted", file("lora.targets: [w1]\n"), []string{"w1"}},
		{"set overrides file", LoadOptions{ConfigRef: writeFile(t, "lora:\n  targets: [w1]\n"), Sets: []string{"lora.targets=q_proj,v_proj"}}, qv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.opts)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("loaded %v, want an error", c.LoRA.Targets)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.LoRA.Targets, tc.want) {
				t.Errorf("targets %#v, want %#v", c.LoRA.Targets, tc.want)
			}
		})
	}
}

// TestLoRATargetFormErrors: what cannot be read as a list of names is an error naming the key, the
// value, its source and the form to use.
func TestLoRATargetFormErrors(t *testing.T) {
	file := func(content string) LoadOptions { return LoadOptions{ConfigRef: writeFile(t, content)} }
	for _, tc := range []struct {
		name string
		opts LoadOptions
		want string // the message up to the source
		hint string
	}{
		{"empty entry", LoadOptions{Sets: []string{"lora.targets=q_proj,,v_proj"}}, "lora.targets: entry 1 is empty", "e.g. q_proj,v_proj"},
		{"trailing comma", LoadOptions{Sets: []string{"lora.targets=q_proj,"}}, "lora.targets: entry 1 is empty", "single commas"},
		{"nested list", file("lora:\n  targets: [[q_proj]]\n"), "lora.targets: entry 0 is not a single name", "[q_proj, v_proj]"},
		{"null entry", file("lora:\n  targets: [q_proj, ~]\n"), "lora.targets: entry 1 is not a single name", "flat list"},
		{"broken flow list", LoadOptions{Sets: []string{"lora.targets=[q_proj, v_proj"}}, "lora.targets: is not a YAML list", "lora.targets=q_proj,v_proj or"},
		{"mapping", file("lora:\n  targets: {q: 1}\n"), "lora.targets: expects a list of names, not a mapping", "lora.targets is a list"},
		{"empty set", LoadOptions{Sets: []string{"lora.targets="}}, "lora.targets: [] names no target", "name at least one"},
		{"empty file value", file("lora:\n  targets:\n"), "lora.targets: [] names no target", "q_proj, k_proj"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := loadErrors(t, tc.opts)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(es), es)
			}
			msg := es[0].Error()
			if !strings.HasPrefix(msg, tc.want+" (") || !strings.Contains(msg, tc.hint) {
				t.Errorf("message %q\nwant    %q (...) ... %q", msg, tc.want, tc.hint)
			}
			if es[0].Source == "" || es[0].Source == "default" {
				t.Errorf("message %q does not name where the value came from", msg)
			}
		})
	}
}

// TestLoRAYAML: the lora section is written with the targets as a flow list, and read back.
func TestLoRAYAML(t *testing.T) {
	c := Default()
	c.LoRA = LoRAConfig{Rank: 16, Alpha: 8, Dropout: 0.1, Targets: []string{"gate", "w2"}, RSLoRA: true, Init: LoRAInitGaussian}
	data, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	want := "lora:\n  rank: 16\n  alpha: 8\n  dropout: 0.1\n  targets: [gate, w2]\n  rslora: true\n  init: gaussian\n"
	if !strings.HasSuffix(string(data), want) {
		t.Errorf("YAML ends\n%s\nwant\n%s", data[max(0, len(data)-len(want)-40):], want)
	}
	back, err := FromYAML(data)
	if err != nil || !reflect.DeepEqual(back.LoRA, c.LoRA) {
		t.Errorf("read back %+v, %v; want %+v", back.LoRA, err, c.LoRA)
	}
}

// TestLoRADefaults: the documented defaults, and a fresh targets list on every call.
func TestLoRADefaults(t *testing.T) {
	l := Default().LoRA
	want := LoRAConfig{Rank: 8, Alpha: 16, Dropout: 0, Targets: []string{"q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"},
		RSLoRA: false, Init: LoRAInitKaiming}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("defaults %+v, want %+v", l, want)
	}
	l.Targets[0] = "changed"
	if Default().LoRA.Targets[0] != "q_proj" {
		t.Error("Default shares its targets list between calls")
	}
	for _, target := range want.Targets {
		if !slices.Contains(LoRATargets(), target) {
			t.Errorf("default target %q is not in LoRATargets", target)
		}
	}
}
