package configs

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPresetNames(t *testing.T) {
	want := []string{"dense", "hybrid", "mixtral-style", "olmoe-style", "small", "tiny"}
	if got := Presets(); !slices.Equal(got, want) {
		t.Errorf("Presets() = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "huge", "../configs/tiny", "tiny.yaml"} {
		if _, err := PresetYAML(bad); err == nil || !strings.Contains(err.Error(), "presets are dense,") {
			t.Errorf("PresetYAML(%q) = %v, want an error listing the presets", bad, err)
		}
	}
}

// TestPresetsLoad loads every preset, checks it is valid and that its file spells out every key with
// a comment on each line.
func TestPresetsLoad(t *testing.T) {
	valueLine := regexp.MustCompile(`^\s*[a-z0-9_]+:\s*\S`)
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			c, err := Load(LoadOptions{ConfigRef: name})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			data, err := PresetYAML(name)
			if err != nil {
				t.Fatal(err)
			}
			l := newLoader()
			if err := l.readFile(data, name); err != nil || len(l.errs) > 0 {
				t.Fatalf("read: %v %v", err, l.errs)
			}
			for _, key := range Keys() {
				if _, ok := l.file.values[key]; !ok {
					t.Errorf("preset does not set %s", key)
				}
			}
			lines := strings.Split(string(data), "\n")
			if !strings.HasPrefix(lines[0], "# "+name+": ") {
				t.Errorf("first line %q does not introduce the preset", lines[0])
			}
			for i, line := range lines {
				if valueLine.MatchString(line) && !strings.Contains(line, " # ") {
					t.Errorf("line %d has no comment: %q", i+1, line)
				}
			}
		})
	}
}

func TestTinyPresetIsDefault(t *testing.T) {
	c, err := Load(LoadOptions{ConfigRef: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("tiny preset\n%+v\ndiffers from Default()\n%+v", *c, *Default())
	}
	d, err := Load(LoadOptions{})
	if err != nil || !reflect.DeepEqual(d, Default()) {
		t.Errorf("Load with no sources = %+v, %v; want Default()", d, err)
	}
}

// TestPresetShapes checks what each preset promises.
func TestPresetShapes(t *testing.T) {
	load := func(name string) *Config {
		t.Helper()
		c, err := Load(LoadOptions{ConfigRef: name})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	type shape struct {
		vocab, d, layers, heads, kv, experts, k, expertFFN, seq, micro int
	}
	get := func(c *Config) shape {
		return shape{c.Model.VocabSize, c.Model.DModel, c.Model.NLayers, c.Model.NHeads, c.Model.NKVHeads,
			c.ExpertsForLayer(0), c.MoE.TopK, c.MoE.ExpertFFNHiddenSize, c.Train.SeqLen, c.Train.MicroBatchSize}
	}
	tiny := load("tiny")
	if got, want := get(tiny), (shape{256, 128, 4, 4, 2, 8, 2, 256, 128, 8}); got != want {
		t.Errorf("tiny shape %+v, want %+v", got, want)
	}
	if tr := tiny.Train; tr.Steps != 300 || tr.LR != 3e-3 || tr.Schedule != ScheduleCosine || tr.WarmupSteps != 30 {
		t.Errorf("tiny schedule %+v", tr)
	}
	if tiny.Data.Tokenizer != ByteTokenizer || tiny.NumMoELayers() != 4 {
		t.Errorf("tiny: tokenizer %q, %d MoE layers", tiny.Data.Tokenizer, tiny.NumMoELayers())
	}
	small := load("small")
	if got := get(small); got.vocab != 256 || got.d != 256 || got.layers != 6 || got.heads != 8 ||
		got.experts != 8 || got.k != 2 || got.expertFFN != 512 || got.seq != 256 {
		t.Errorf("small shape %+v", got)
	}
	if h := load("hybrid"); !slices.Equal(h.MoELayers(), []bool{true, false, true, false, true, false}) {
		t.Errorf("hybrid MoE layers %v", h.MoELayers())
	}
	mix := load("mixtral-style")
	if got := get(mix); got.experts != 8 || got.k != 2 || got.kv >= got.heads || mix.NumMoELayers() != mix.Model.NLayers {
		t.Errorf("mixtral-style shape %+v", got)
	}
	olmoe := load("olmoe-style")
	if got := get(olmoe); got.experts != 64 || got.k != 8 || got.expertFFN >= got.d || olmoe.MoE.Router.Normalize {
		t.Errorf("olmoe-style shape %+v, normalize %v", got, olmoe.MoE.Router.Normalize)
	}
	dense := load("dense")
	if !dense.IsDense() || dense.MoE.NumExperts.All != 0 {
		t.Errorf("dense preset has MoE layers %v", dense.MoELayers())
	}
	// dense upcycles into tiny: same attention and width, MLP the shape of tiny's experts.
	if dense.Model.DModel != tiny.Model.DModel || dense.Model.NLayers != tiny.Model.NLayers ||
		dense.Model.NHeads != tiny.Model.NHeads || dense.Model.NKVHeads != tiny.Model.NKVHeads ||
		dense.Model.FFNHiddenSize != tiny.MoE.ExpertFFNHiddenSize {
		t.Errorf("dense %+v does not match tiny's shape for upcycling", dense.Model)
	}
}
