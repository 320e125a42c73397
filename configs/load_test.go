package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPrecedence sets train.lr in every combination of sources and checks that the highest one wins:
// default < file < env < flag < --set.
func TestPrecedence(t *testing.T) {
	path := writeFile(t, "train:\n  lr: 0.01\nmodel:\n  d_model: 64\n")
	const (
		fromFile = 1 << iota
		fromEnv
		fromFlag
		fromSet
	)
	for mask := range 16 {
		var opts LoadOptions
		want := Default().Train.LR // 0.003
		if mask&fromFile != 0 {
			opts.ConfigRef, want = path, 0.01
		}
		if mask&fromEnv != 0 {
			opts.Env, want = []string{"PATH=/bin", "MOETRAIN_TRAIN_LR=0.02"}, 0.02
		}
		if mask&fromFlag != 0 {
			opts.Flags, want = map[string]string{"train.lr": "0.04"}, 0.04
		}
		if mask&fromSet != 0 {
			opts.Sets, want = []string{"train.lr=0.05"}, 0.05
		}
		c, err := Load(opts)
		if err != nil {
			t.Fatalf("sources %04b: %v", mask, err)
		}
		if c.Train.LR != want {
			t.Errorf("sources %04b: train.lr = %g, want %g", mask, c.Train.LR, want)
		}
		wantD := Default().Model.DModel
		if mask&fromFile != 0 {
			wantD = 64
		}
		if c.Model.DModel != wantD {
			t.Errorf("sources %04b: model.d_model = %d, want %d (untouched by env, flags and sets)", mask, c.Model.DModel, wantD)
		}
	}
}

// TestLaterSetWins checks that of two --set for one key the later counts.
func TestLaterSetWins(t *testing.T) {
	c, err := Load(LoadOptions{Sets: []string{"train.steps=10", "train.warmup_steps=0", "train.steps=20"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Steps != 20 {
		t.Errorf("train.steps = %d, want 20", c.Train.Steps)
	}
}

// TestEveryKeyFromEveryOverride sets each key through env, a flag and --set and reads it back.
func TestEveryKeyFromEveryOverride(t *testing.T) {
	def := Default()
	differs := map[string]bool{}
	for i, other := range otherConfigs(t) {
		values := map[string]string{}
		for _, f := range registry.fields {
			if !reflect.DeepEqual(f.get(def).Interface(), f.get(other).Interface()) {
				differs[f.key] = true
			}
			values[f.key] = formatPlain(yamlValue(f.get(other)))
		}
		var env, sets []string
		for key, v := range values {
			env = append(env, EnvVar(key)+"="+v)
			sets = append(sets, key+"="+v)
		}
		for name, opts := range map[string]LoadOptions{"env": {Env: env}, "flags": {Flags: values}, "sets": {Sets: sets}} {
			c, err := Load(opts)
			if err != nil {
				t.Fatalf("other %d, %s: %v", i, name, err)
			}
			if !reflect.DeepEqual(c, other) {
				t.Errorf("other %d, %s: loaded\n%+v\nwant\n%+v", i, name, *c, *other)
			}
		}
	}
	for _, key := range Keys() {
		if !differs[key] {
			t.Errorf("%s: every test value equals the default", key)
		}
	}
}

// otherConfigs returns valid configurations that between them differ from Default in every key:
// otherConfig, and two variants of it for the router keys that only topk_softmax takes
// (pre_softmax true, normalize false).
func otherConfigs(t *testing.T) []*Config {
	t.Helper()
	pre, raw := otherConfig(t), otherConfig(t)
	pre.MoE.Router.Type, pre.MoE.Router.PreSoftmax = RouterTopKSoftmax, true
	raw.MoE.Router.Type, raw.MoE.Router.Normalize = RouterTopKSoftmax, false
	for _, c := range []*Config{pre, raw} {
		if err := c.Validate(); err != nil {
			t.Fatalf("test configuration invalid: %v", err)
		}
	}
	return []*Config{otherConfig(t), pre, raw}
}

// otherConfig returns a valid configuration that differs from Default in every key but
// moe.router.pre_softmax and moe.router.normalize, which its sigmoid router does not take.
func otherConfig(t *testing.T) *Config {
	t.Helper()
	other := Default()
	other.Model = ModelConfig{VocabSize: 300, DModel: 96, NLayers: 2, NHeads: 6, NKVHeads: 3, FFNHiddenSize: 192,
		MaxSeqLen: 64, RopeTheta: 5e5, NormEps: 1e-6, TieEmbeddings: true, InitStd: 0.01}
	other.MoE = MoEConfig{NumExperts: ExpertsPerLayer(6), TopK: 3, LayerFreq: LayerPattern(false, true),
		ExpertFFNHiddenSize: 48, SharedExperts: 1, CapacityFactor: 1.25, AuxLossCoeff: 0.02, ZLossCoeff: 0.002,
		LoadBalancingType: LoadBalancingSeqAux, Router: RouterConfig{Type: RouterSigmoid, PreSoftmax: false,
			JitterEps: 0.01, ExpertBias: true, BiasUpdateRate: 0.002, NoiseStd: 0.5, Normalize: true}}
	other.Train = TrainConfig{Steps: 50, MicroBatchSize: 2, GradAccumSteps: 3, GlobalBatchSize: 36, SeqLen: 32, LR: 1e-3, MinLR: 0,
		WarmupSteps: 5, Schedule: ScheduleLinear, WeightDecay: 0, GradClip: 0.5, Seed: 7, Precision: PrecisionBF16,
		LogEvery: 5, EvalEvery: 0, EvalBatches: 2, CheckpointEvery: 0, KeepLast: 5, AsyncSave: true, Beta1: 0.8, Beta2: 0.99,
		Eps: 1e-6, Dropout: 0.1}
	other.Data = DataConfig{Path: "data/my corpus.jsonl", Format: FormatJSONL, Tokenizer: "tok/tokenizer.json",
		TextField: "content", ValFraction: 0}
	other.Parallel = ParallelConfig{Backend: BackendMPI, WorldSize: 6, ExpertParallel: 3, Timeout: 12.5}
	other.Upcycle = UpcycleConfig{Method: UpcycleGranular, Granularity: 3, RouterInitStd: 0.01, DropRatio: 0.25,
		SharedExpert: true, CarryOptimizer: true, NoiseStd: 0.001, AllowMoESource: true}
	other.LoRA = LoRAConfig{Rank: 4, Alpha: 4.5, Dropout: 0.05, Targets: []string{"gate", "down_proj", "q_proj"}, RSLoRA: true,
		Init: LoRAInitGaussian}
	if err := other.Validate(); err != nil {
		t.Fatalf("test configuration invalid: %v", err)
	}
	return other
}

// formatPlain writes a YAML value as a user would type it after key=.
func formatPlain(v any) string {
	switch x := v.(type) {
	case []int:
		return formatInts(x)
	case []string:
		return strings.Join(x, ",")
	case string:
		return x
	}
	return formatValue(v)
}

func TestAcceptedValueForms(t *testing.T) {
	cases := []struct {
		set  string
		get  func(c *Config) any
		want any
	}{
		{"train.steps=1e3", func(c *Config) any { return c.Train.Steps }, 1000},
		{"train.steps=400.0", func(c *Config) any { return c.Train.Steps }, 400},
		{"train.lr=3e-4", func(c *Config) any { return c.Train.LR }, 3e-4},
		{"train.lr=1", func(c *Config) any { return c.Train.LR }, 1.0},
		{"model.tie_embeddings=yes", func(c *Config) any { return c.Model.TieEmbeddings }, true},
		{"model.tie_embeddings=FALSE", func(c *Config) any { return c.Model.TieEmbeddings }, false},
		{"data.path=123", func(c *Config) any { return c.Data.Path }, "123"},
		{"data.path=a: b #c", func(c *Config) any { return c.Data.Path }, "a: b #c"},
		{`data.path="quoted path"`, func(c *Config) any { return c.Data.Path }, "quoted path"},
		{"data.path=", func(c *Config) any { return c.Data.Path }, ""},
		{"moe.layer_freq=[1, 0, 0, 1]", func(c *Config) any { return c.MoE.LayerFreq }, LayerPattern(true, false, false, true)},
		{"moe.layer_freq=1,0,1,0", func(c *Config) any { return c.MoE.LayerFreq }, LayerPattern(true, false, true, false)},
		{"moe.layer_freq=3", func(c *Config) any { return c.MoE.LayerFreq }, EveryLayer(3)},
		{"moe.num_experts=[8,8,4,4]", func(c *Config) any { return c.MoE.NumExperts }, ExpertsPerLayer(8, 8, 4, 4)},
		{"moe.num_experts=4", func(c *Config) any { return c.MoE.NumExperts }, Experts(4)},
		{"MOE.Router.Type=sigmoid", func(c *Config) any { return c.MoE.Router.Type }, RouterSigmoid},
	}
	for _, tc := range cases {
		c, err := Load(LoadOptions{Sets: []string{tc.set}})
		if err != nil {
			t.Errorf("%s: %v", tc.set, err)
			continue
		}
		if got := tc.get(c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.set, got, tc.want)
		}
	}
}

// loadErrors runs Load and returns its FieldErrors, failing unless it returned Errors.
func loadErrors(t *testing.T, opts LoadOptions) Errors {
	t.Helper()
	c, err := Load(opts)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Load = %v, %v; want Errors", c, err)
	}
	return es
}

func TestUnknownKeys(t *testing.T) {
	path := writeFile(t, "model:\n  d_model: 64\n  d_modle: 64\n")
	cases := []struct {
		name   string
		opts   LoadOptions
		key    string
		source string
		hint   string
	}{
		{"file typo", LoadOptions{ConfigRef: path}, "model.d_modle", "file " + path + ", line 3", `did you mean "model.d_model"?`},
		{"file section typo", LoadOptions{ConfigRef: writeFile(t, "modle:\n  d_model: 64\n")}, "modle", ", line 1", `did you mean "model"?`},
		{"file wrong section", LoadOptions{ConfigRef: writeFile(t, "model:\n  lr: 0.1\n")}, "model.lr", ", line 2", `did you mean "train.lr"?`},
		{"file dotted typo", LoadOptions{ConfigRef: writeFile(t, "train.stpes: 5\n")}, "train.stpes", ", line 1", `did you mean "train.steps"?`},
		{"file far off", LoadOptions{ConfigRef: writeFile(t, "model:\n  colour: blue\n")}, "model.colour", ", line 2", "the keys under model are model.vocab_size, model.d_model"},
		{"set typo", LoadOptions{Sets: []string{"moe.top-k=2"}}, "moe.top-k", "--set moe.top-k=2", `did you mean "moe.top_k"?`},
		{"set swapped letters", LoadOptions{Sets: []string{"train.setps=2"}}, "train.setps", "--set train.setps=2", `did you mean "train.steps"?`},
		{"set router typo", LoadOptions{Sets: []string{"moe.router.jiter_eps=0"}}, "moe.router.jiter_eps", "--set", `did you mean "moe.router.jitter_eps"?`},
		{"flag typo", LoadOptions{Flags: map[string]string{"data.pth": "x.txt"}}, "data.pth", "flag", `did you mean "data.path"?`},
		{"env typo", LoadOptions{Env: []string{"MOETRAIN_TRAIN_LRR=0.1"}}, "MOETRAIN_TRAIN_LRR", "env", "did you mean MOETRAIN_TRAIN_LR (train.lr)?"},
		{"env missing underscore", LoadOptions{Env: []string{"MOETRAIN_MODEL_DMODEL=64"}}, "MOETRAIN_MODEL_DMODEL", "env", "MOETRAIN_MODEL_D_MODEL (model.d_model)"},
		{"env wrong section", LoadOptions{Env: []string{"MOETRAIN_MODEL_TOP_K=4"}}, "MOETRAIN_MODEL_TOP_K", "env", "MOETRAIN_MOE_TOP_K (moe.top_k)"},
		{"set section", LoadOptions{Sets: []string{"moe.router=x"}}, "moe.router", "--set", "set one of its keys: moe.router.type"},
		{"file scalar section", LoadOptions{ConfigRef: writeFile(t, "train: 5\n")}, "train", ", line 1", "write its keys under it: train.steps"},
		{"set without =", LoadOptions{Sets: []string{"train.lr"}}, "train.lr", "--set", "--set train.lr=3e-4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := loadErrors(t, tc.opts)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(es), es)
			}
			msg := es[0].Error()
			if es[0].Key != tc.key || !strings.HasPrefix(msg, tc.key+": ") {
				t.Errorf("key %q, message %q; want key %q", es[0].Key, msg, tc.key)
			}
			if !strings.Contains(es[0].Source, tc.source) || !strings.Contains(msg, "("+es[0].Source+")") {
				t.Errorf("message %q does not name source %q", msg, tc.source)
			}
			if !strings.Contains(msg, tc.hint) {
				t.Errorf("message %q lacks %q", msg, tc.hint)
			}
		})
	}
}

func TestWrongTypes(t *testing.T) {
	file := func(content string) LoadOptions { return LoadOptions{ConfigRef: writeFile(t, content)} }
	cases := []struct {
		name string
		opts LoadOptions
		want string // the message up to the source
		src  string
	}{
		{"number", file("train:\n  lr: abc\n"), `train.lr: cannot parse "abc" as a number`, ", line 2)"},
		{"integer", file("model:\n  d_model: 12.5\n"), `model.d_model: cannot parse "12.5" as an integer`, ", line 2)"},
		{"boolean", file("model:\n  tie_embeddings: maybe\n"), `model.tie_embeddings: cannot parse "maybe" as a boolean`, ", line 2)"},
		{"list for a number", file("train:\n  lr: [1, 2]\n"), "train.lr: expects a number, not a list", ", line 2)"},
		{"mapping for a number", file("train:\n  lr: {x: 1}\n"), "train.lr: expects a number, not a mapping", ", line 2)"},
		{"empty value", file("train:\n  lr:\n"), "train.lr: has no value", ", line 2)"},
		{"list for a string", file("data:\n  path: [a, b]\n"), "data.path: expects a string, not a list", ", line 2)"},
		{"bad list entry", file("moe:\n  num_experts: [8, x]\n"), `moe.num_experts: entry 1: cannot parse "x" as an integer`, ", line 2)"},
		{"layer_freq entry not 0/1", file("moe:\n  layer_freq: [1, 2, 1, 0]\n"), `moe.layer_freq: entry 1 is "2", not 0 or 1`, ", line 2)"},
		{"layer_freq nested list", file("moe:\n  layer_freq: [[1]]\n"), "moe.layer_freq: entry 0 is not a single integer", ", line 2)"},
		{"not finite", LoadOptions{Sets: []string{"train.lr=NaN"}}, `train.lr: "NaN" is not a finite number`, "(--set train.lr=NaN)"},
		{"env integer", LoadOptions{Env: []string{"MOETRAIN_TRAIN_STEPS=ten"}}, `train.steps: cannot parse "ten" as an integer`, "(env MOETRAIN_TRAIN_STEPS)"},
		{"flag integer", LoadOptions{Flags: map[string]string{"train.steps": "1.5"}}, `train.steps: cannot parse "1.5" as an integer`, "(flag)"},
		{"set list", LoadOptions{Sets: []string{"moe.num_experts=[8, 4.5]"}}, `moe.num_experts: entry 1: cannot parse "4.5" as an integer`, "(--set moe.num_experts=[8, 4.5])"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := loadErrors(t, tc.opts)
			if len(es) != 1 {
				t.Fatalf("got %d errors, want 1:\n%v", len(es), es)
			}
			msg := es[0].Error()
			if !strings.HasPrefix(msg, tc.want+" (") || !strings.Contains(msg, tc.src) {
				t.Errorf("message %q\nwant    %q ... %q", msg, tc.want, tc.src)
			}
			if tc.opts.ConfigRef != "" && !strings.Contains(msg, "(file "+tc.opts.ConfigRef+", line ") {
				t.Errorf("message %q does not name the file", msg)
			}
		})
	}
}

// TestTypeErrorsBeforeValidation checks that all key and type problems of all sources come back
// together, and that validation does not run on a configuration that could not be read.
func TestTypeErrorsBeforeValidation(t *testing.T) {
	path := writeFile(t, "train:\n  lr: abc\n  steps: 0\n")
	es := loadErrors(t, LoadOptions{ConfigRef: path, Env: []string{"MOETRAIN_X=1"}, Sets: []string{"train.seed=s"}})
	want := []string{"train.lr", "MOETRAIN_X", "train.seed"}
	if !reflect.DeepEqual(es.Keys(), want) {
		t.Errorf("keys = %v, want %v (no validation of train.steps yet)", es.Keys(), want)
	}
}

func TestFileForms(t *testing.T) {
	c, err := Load(LoadOptions{ConfigRef: writeFile(t, "# only comments\ntrain.steps: 40\nTRAIN:\n  LR: 0.01\nmoe:\n  router:\ndata:\n")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.Steps != 40 || c.Train.LR != 0.01 {
		t.Errorf("steps %d lr %g, want 40 0.01", c.Train.Steps, c.Train.LR)
	}
	if _, err := Load(LoadOptions{ConfigRef: writeFile(t, "")}); err != nil {
		t.Errorf("empty file: %v", err)
	}
	es := loadErrors(t, LoadOptions{ConfigRef: writeFile(t, "train:\n  lr: 0.1\ntrain.lr: 0.2\n")})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "train.lr: is set twice (first on line 2)") {
		t.Errorf("duplicate key: %v", es)
	}
	for name, content := range map[string]string{"not YAML": "train: [\n", "not a mapping": "- a\n- b\n"} {
		path := writeFile(t, content)
		_, err := Load(LoadOptions{ConfigRef: path})
		var es Errors
		if err == nil || errors.As(err, &es) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want a plain error naming %s", name, err, path)
		}
	}
}

func TestConfigRef(t *testing.T) {
	c, err := Load(LoadOptions{ConfigRef: "olmoe-style"})
	if err != nil || c.ExpertsForLayer(3) != 64 || c.MoE.TopK != 8 {
		t.Fatalf("preset olmoe-style: %v, %+v", err, c)
	}
	// A path-like reference is a file even when a preset has its base name.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny"), []byte("train:\n  steps: 7\n  warmup_steps: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(LoadOptions{ConfigRef: filepath.Join(dir, "tiny")})
	if err != nil || c.Train.Steps != 7 {
		t.Fatalf("file named tiny: %v, %+v", err, c)
	}
	es := loadErrors(t, LoadOptions{ConfigRef: "small", Sets: []string{"train.lr=x"}})
	if !strings.Contains(es[0].Error(), "(--set train.lr=x)") {
		t.Errorf("preset override error: %v", es)
	}
	es = loadErrors(t, LoadOptions{ConfigRef: "small", Sets: []string{"train.lrr=1"}})
	if len(es) != 1 || es[0].Key != "train.lrr" {
		t.Errorf("unknown key over preset: %v", es)
	}
	es = loadErrors(t, LoadOptions{ConfigRef: writeFile(t, "bogus: 1\n")})
	if !strings.Contains(es[0].Source, "run.yaml, line 1") {
		t.Errorf("source %q", es[0].Source)
	}
	for ref, want := range map[string]string{
		"tiy":                  `config "tiy" is neither a preset nor a file; presets are dense, hybrid,`,
		"mixtral":              `did you mean "mixtral-style"?`,
		"no/such/config.yaml":  "no/such/config.yaml: no such file",
		"missing-config.yml":   "missing-config.yml: no such file",
		filepath.Join(dir, ""): "config file:",
	} {
		_, err := Load(LoadOptions{ConfigRef: ref})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ConfigRef %q: got %v, want %q", ref, err, want)
		}
	}
}

// TestLoadBase: the keys ConfigRef does not set keep the Base's values, ConfigRef's and --set's
// win over it, and a problem in the Base is reported under its name.
func TestLoadBase(t *testing.T) {
	base := []byte("model:\n  d_model: 48\n  ffn_hidden_size: 96\ntrain:\n  steps: 7\n  lr: 0.002\n")
	c, err := Load(LoadOptions{Base: base, BaseName: "checkpoint X", Sets: []string{"train.steps=9"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.DModel != 48 || c.Model.FFNHiddenSize != 96 || c.Train.Steps != 9 || c.Train.LR != 0.002 {
		t.Errorf("base under --set: d_model %d ffn %d steps %d lr %g", c.Model.DModel, c.Model.FFNHiddenSize, c.Train.Steps, c.Train.LR)
	}
	c, err = Load(LoadOptions{Base: base, ConfigRef: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.DModel != 128 || c.Train.Steps != 300 {
		t.Errorf("the preset does not win over the base: d_model %d steps %d", c.Model.DModel, c.Train.Steps)
	}
	_, err = Load(LoadOptions{Base: []byte("train:\n  stepz: 1\n"), BaseName: "checkpoint X"})
	if err == nil || !strings.Contains(err.Error(), "checkpoint X") {
		t.Errorf("a bad key in the base: %v", err)
	}
}
