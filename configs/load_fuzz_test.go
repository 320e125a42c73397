package configs

// Fuzz targets of the configuration loader: YAML bytes (FromYAML, as a file or a checkpoint's
// stored configuration is read) and --set strings (Load with Sets).
//
// Mutations caught: skipping cfg.Validate() in finish makes both targets fail on their
// model.d_model=1e9 seeds (an accepted configuration must be valid); testing LayerFreq.Every >= 0
// instead of > 0 in isMoELayer makes FuzzFromYAML panic (division by zero) on its layer_freq 0 seed.

import (
	"strings"
	"testing"
)

// maxMessage bounds any error message of the loader: maxShownErrors problems of bounded size.
const maxMessage = 200_000

// checkLoaded checks the invariants of one load: accepted configurations are valid and write YAML
// that reads back; refusals have a bounded message.
func checkLoaded(t *testing.T, c *Config, err error) {
	t.Helper()
	if err != nil {
		if n := len(err.Error()); n > maxMessage {
			t.Fatalf("message of %d bytes: %.300s", n, err.Error())
		}
		return
	}
	if verr := c.Validate(); verr != nil {
		t.Fatalf("accepted a configuration that Validate refuses: %v", verr)
	}
	out, yerr := c.YAML()
	if yerr != nil {
		t.Fatalf("YAML of an accepted configuration: %v", yerr)
	}
	if _, rerr := FromYAML(out); rerr != nil {
		t.Fatalf("its YAML does not read back: %v\n%s", rerr, out)
	}
}

func FuzzFromYAML(f *testing.F) {
	for _, name := range Presets() {
		data, err := PresetYAML(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "train:\n  steps: 5\n", "model: {d_model: 64, n_heads: 4}\n", "train: 5\n", "- 1\n- 2\n",
		"moe:\n  layer_freq: [1, 0, 1, 0]\n  num_experts: [4, 8]\n", "a: &a [1, 2]\nmoe:\n  layer_freq: *a\n",
		"train:\n  steps: 5\n---\ntrain:\n  steps: 6\n", "train.lr: 1e-3\ntrain.lr: 2e-3\n", "lora:\n  targets: q_proj, v_proj\n",
		"model:\n  d_model: 1e9\n", "moe:\n  layer_freq: 0\n", "x: &a [*a]\n", "modle:\n  d_model: 64\n", "moe:\n  router:\n    type: sigmod\n",
		aliasBomb(6) + "model:\n  d_model: *a6\n", "data:\n  path: !!binary aGVsbG8=\n", "<<: {train.steps: 3}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := FromYAML(data)
		checkLoaded(t, c, err)
	})
}

func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"train.lr=3e-4", "moe.layer_freq=[1,0,1,0]", "moe.layer_freq=1,0,1,0", "moe.num_experts=[8, 8, 8, 8]",
		"lora.targets=q_proj,v_proj", "lora.targets=[q_proj]", "model.d_model=1e9", "train.steps=5\n---\n6",
		"moe.router=x", "moe.routr=1", "train.lr", "=", "model.n_layers=-1", "data.path='quoted'", "train.seed=9e18",
		"moe.num_experts=" + strings.Repeat("1,", MaxListEntries) + "1", "model.vocab_size={a: 1}", "train.lr=nan",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, set string) {
		c, err := Load(LoadOptions{Sets: []string{set}})
		checkLoaded(t, c, err)
	})
}
