package configs

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestYAMLRoundTrip writes configurations with YAML and reads them back with FromYAML.
func TestYAMLRoundTrip(t *testing.T) {
	configs := map[string]*Config{"default": Default()}
	for i, c := range otherConfigs(t) {
		configs[fmt.Sprintf("other %d", i)] = c
	}
	for _, name := range Presets() {
		c, err := Load(LoadOptions{ConfigRef: name})
		if err != nil {
			t.Fatal(err)
		}
		configs[name] = c
	}
	for _, path := range []string{"123", "true", "null", "~", "", "a: b", "#x", " lead", "tab\there", "line\nbreak", "'q'", "1e3", "[1]"} {
		c := Default()
		c.Data.Path = path
		c.Data.Tokenizer = path + "/tokenizer.json"
		c.Data.TextField = "field " + path
		configs["strings "+path] = c
	}
	for name, c := range configs {
		data, err := c.YAML()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := FromYAML(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, data)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s: round trip\n%+v\nwant\n%+v\nYAML:\n%s", name, *back, *c, data)
		}
		// A file written by YAML is also a valid ConfigRef.
		if strings.HasPrefix(name, "other") {
			c2, err := Load(LoadOptions{ConfigRef: writeFile(t, string(data))})
			if err != nil || !reflect.DeepEqual(c2, c) {
				t.Errorf("Load of written YAML: %v", err)
			}
		}
	}
}

// TestYAMLLayout checks the document's shape: every key once, in sections, lists in flow style.
func TestYAMLLayout(t *testing.T) {
	c := Default()
	c.MoE.LayerFreq = LayerPattern(true, false, true, false)
	c.MoE.NumExperts = ExpertsPerLayer(4, 8)
	data, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"model:\n  vocab_size: 256\n", "  layer_freq: [1, 0, 1, 0]\n", "  num_experts: [4, 8]\n",
		"  router:\n    type: topk_softmax\n", "  lr: 0.003\n", "  path: \"\"\n", "parallel:\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("YAML lacks %q:\n%s", want, text)
		}
	}
	var plain map[string]map[string]any
	if err := yaml.Unmarshal(data, &plain); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, section := range plain {
		for _, v := range section {
			if sub, ok := v.(map[string]any); ok {
				n += len(sub)
			} else {
				n++
			}
		}
	}
	if n != len(Keys()) {
		t.Errorf("YAML has %d keys, want %d", n, len(Keys()))
	}
}

func TestFromYAML(t *testing.T) {
	c, err := FromYAML([]byte("train:\n  steps: 50\n  warmup_steps: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Train.Steps, want.Train.WarmupSteps = 50, 5
	if !reflect.DeepEqual(c, want) {
		t.Errorf("missing keys did not take defaults: %+v", *c)
	}
	_, err = FromYAML([]byte("train:\n  steps: 50\n  stepz: 5\n"))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Source != "YAML input, line 3" {
		t.Errorf("unknown key: %v", err)
	}
	_, err = FromYAML([]byte("train:\n  steps: -1\n"))
	if !errors.As(err, &es) || len(es) != 1 || es[0].Key != "train.steps" {
		t.Errorf("invalid value: %v", err)
	}
}
