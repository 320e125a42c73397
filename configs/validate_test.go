package configs

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() is invalid: %v", err)
	}
}

// TestValidateRules breaks one rule at a time and checks that exactly the expected key is reported,
// with its value in the message.
func TestValidateRules(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(c *Config)
		key   string // "" = the edited config is valid
		value string
		msg   string // a part of the message
	}{
		{"vocab below 2", func(c *Config) { c.Model.VocabSize = 1 }, "model.vocab_size", "1", "at least 2"},
		{"vocab below byte tokenizer", func(c *Config) { c.Model.VocabSize = 100 }, "model.vocab_size", "100", "byte tokenizer"},
		{"small vocab with tokenizer file", func(c *Config) { c.Model.VocabSize = 100; c.Data.Tokenizer = "tok/tokenizer.json" }, "", "", ""},
		{"d_model 0", func(c *Config) { c.Model.DModel = 0 }, "model.d_model", "0", "at least 1"},
		{"n_layers 0", func(c *Config) { c.Model.NLayers = 0 }, "model.n_layers", "0", "at least 1"},
		{"n_heads 0", func(c *Config) { c.Model.NHeads = 0 }, "model.n_heads", "0", "at least 1"},
		{"n_kv_heads 0", func(c *Config) { c.Model.NKVHeads = 0 }, "model.n_kv_heads", "0", "at least 1"},
		{"d_model not divisible", func(c *Config) { c.Model.DModel = 130 }, "model.d_model", "130", "not divisible by model.n_heads = 4"},
		{"odd head width", func(c *Config) { c.Model.DModel = 132 }, "model.d_model", "132", "odd head width"},
		{"kv heads not dividing", func(c *Config) { c.Model.NKVHeads = 3 }, "model.n_kv_heads", "3", "does not divide model.n_heads = 4"},
		{"dense layers need ffn", func(c *Config) { c.MoE.LayerFreq = EveryLayer(2); c.Model.FFNHiddenSize = 0 }, "model.ffn_hidden_size", "0", "at least 1"},
		{"all-MoE model may omit ffn", func(c *Config) { c.Model.FFNHiddenSize = 0 }, "", "", ""},
		{"negative ffn", func(c *Config) { c.Model.FFNHiddenSize = -1 }, "model.ffn_hidden_size", "-1", "at least 0"},
		{"max_seq_len 0", func(c *Config) { c.Model.MaxSeqLen = 0 }, "model.max_seq_len", "0", "at least 1"},
		{"rope_theta 0", func(c *Config) { c.Model.RopeTheta = 0 }, "model.rope_theta", "0", "> 0"},
		{"norm_eps negative", func(c *Config) { c.Model.NormEps = -1e-5 }, "model.norm_eps", "-1e-05", "> 0"},
		{"init_std 0", func(c *Config) { c.Model.InitStd = 0 }, "model.init_std", "0", "> 0"},

		{"num_experts negative", func(c *Config) { c.MoE.NumExperts = Experts(-1) }, "moe.num_experts", "-1", "at least 0"},
		{"num_experts list too short", func(c *Config) { c.MoE.NumExperts = ExpertsPerLayer(8, 8) }, "moe.num_experts", "[8, 8]", "4 MoE layers"},
		{"num_experts list with 0", func(c *Config) { c.MoE.NumExperts = ExpertsPerLayer(8, 0, 8, 8) }, "moe.num_experts", "[8, 0, 8, 8]", "0 experts in entry 1"},
		{"layer_freq negative", func(c *Config) { c.MoE.LayerFreq = EveryLayer(-1) }, "moe.layer_freq", "-1", "at least 0"},
		{"layer_freq list too short", func(c *Config) { c.MoE.LayerFreq = LayerPattern(true, false) }, "moe.layer_freq", "[1, 0]", "model.n_layers = 4"},
		{"top_k 0", func(c *Config) { c.MoE.TopK = 0 }, "moe.top_k", "0", "[1, 8]"},
		{"top_k above experts", func(c *Config) { c.MoE.TopK = 9 }, "moe.top_k", "9", "[1, 8]"},
		{"top_k above the smallest layer", func(c *Config) { c.MoE.NumExperts = ExpertsPerLayer(8, 4, 8, 8); c.MoE.TopK = 5 }, "moe.top_k", "5", "[1, 4]"},
		{"dense model ignores top_k", func(c *Config) { c.MoE.NumExperts = Experts(0); c.MoE.TopK = 0 }, "", "", ""},
		{"expert ffn 0", func(c *Config) { c.MoE.ExpertFFNHiddenSize = 0 }, "moe.expert_ffn_hidden_size", "0", "at least 1"},
		{"shared experts negative", func(c *Config) { c.MoE.SharedExperts = -1 }, "moe.shared_experts", "-1", "at least 0"},
		{"capacity negative", func(c *Config) { c.MoE.CapacityFactor = -0.5 }, "moe.capacity_factor", "-0.5", ">= 0"},
		{"aux coeff negative", func(c *Config) { c.MoE.AuxLossCoeff = -0.1 }, "moe.aux_loss_coeff", "-0.1", ">= 0"},
		{"z coeff negative", func(c *Config) { c.MoE.ZLossCoeff = -1 }, "moe.z_loss_coeff", "-1", ">= 0"},
		{"load balancing type", func(c *Config) { c.MoE.LoadBalancingType = "aux" }, "moe.load_balancing_type", `"aux"`, `did you mean "aux_loss"`},
		{"router type", func(c *Config) { c.MoE.Router.Type = "sigmod" }, "moe.router.type", `"sigmod"`, `did you mean "sigmoid"`},
		{"jitter 1", func(c *Config) { c.MoE.Router.JitterEps = 1 }, "moe.router.jitter_eps", "1", "[0, 1)"},
		{"jitter negative", func(c *Config) { c.MoE.Router.JitterEps = -0.1 }, "moe.router.jitter_eps", "-0.1", "[0, 1)"},
		{"bias rate negative", func(c *Config) { c.MoE.Router.BiasUpdateRate = -1 }, "moe.router.bias_update_rate", "-1", ">= 0"},
		{"noise negative", func(c *Config) { c.MoE.Router.NoiseStd = -1 }, "moe.router.noise_std", "-1", ">= 0"},
		{"noisy top-k without noise", func(c *Config) { c.MoE.Router.Type = RouterNoisyTopK; c.MoE.Router.NoiseStd = 0 }, "moe.router.noise_std", "0", "noisy_topk"},
		{"noisy top-k with infinite noise", func(c *Config) { c.MoE.Router.Type = RouterNoisyTopK; c.MoE.Router.NoiseStd = math.Inf(1) }, "moe.router.noise_std", "+Inf", "finite"},
		{"capacity infinite", func(c *Config) { c.MoE.CapacityFactor = math.Inf(1) }, "moe.capacity_factor", "+Inf", "finite"},
		{"bias rate infinite", func(c *Config) { c.MoE.Router.BiasUpdateRate = math.Inf(1) }, "moe.router.bias_update_rate", "+Inf", "finite"},
		{"pre_softmax with sigmoid", func(c *Config) { c.MoE.Router.Type = RouterSigmoid; c.MoE.Router.PreSoftmax = true }, "moe.router.pre_softmax", "true", `not "sigmoid"`},
		{"pre_softmax with noisy_topk", func(c *Config) { c.MoE.Router.Type = RouterNoisyTopK; c.MoE.Router.PreSoftmax = true }, "moe.router.pre_softmax", "true", `not "noisy_topk"`},
		{"pre_softmax with topk_softmax", func(c *Config) { c.MoE.Router.PreSoftmax = true }, "", "", ""},
		{"pre_softmax with noisy_topk on a dense model", func(c *Config) {
			c.MoE.NumExperts = Experts(0)
			c.MoE.Router.Type, c.MoE.Router.PreSoftmax, c.MoE.Router.Normalize = RouterNoisyTopK, true, false
		}, "", "", ""},
		{"normalize off with sigmoid", func(c *Config) { c.MoE.Router.Type = RouterSigmoid; c.MoE.Router.Normalize = false }, "moe.router.normalize", "false", "sigmoid, whose K weights always sum to 1"},
		{"normalize off with noisy_topk", func(c *Config) { c.MoE.Router.Type = RouterNoisyTopK; c.MoE.Router.Normalize = false }, "moe.router.normalize", "false", "noisy_topk, whose K weights"},
		{"normalize off with pre_softmax", func(c *Config) { c.MoE.Router.PreSoftmax = true; c.MoE.Router.Normalize = false }, "moe.router.normalize", "false", "with moe.router.pre_softmax"},
		{"normalize off with topk_softmax", func(c *Config) { c.MoE.Router.Normalize = false }, "", "", ""},
		{"expert bias with sigmoid", func(c *Config) { c.MoE.Router.Type = RouterSigmoid; c.MoE.Router.ExpertBias = true }, "", "", ""},
		{"expert bias with noisy_topk", func(c *Config) { c.MoE.Router.Type = RouterNoisyTopK; c.MoE.Router.ExpertBias = true }, "", "", ""},

		{"steps -1", func(c *Config) { c.Train.Steps = -1 }, "train.steps", "-1", "at least 0"},
		{"micro batch 0", func(c *Config) { c.Train.MicroBatchSize = 0 }, "train.micro_batch_size", "0", "at least 1"},
		{"grad accum 0", func(c *Config) { c.Train.GradAccumSteps = 0 }, "train.grad_accum_steps", "0", "at least 1"},
		{"seq_len 0", func(c *Config) { c.Train.SeqLen = 0 }, "train.seq_len", "0", "at least 1"},
		{"seq_len above max", func(c *Config) { c.Train.SeqLen = 256 }, "train.seq_len", "256", "model.max_seq_len = 128"},
		{"lr 0", func(c *Config) { c.Train.LR = 0 }, "train.lr", "0", "> 0"},
		{"lr negative", func(c *Config) { c.Train.LR = -1 }, "train.lr", "-1", "> 0"},
		{"lr infinite", func(c *Config) { c.Train.LR = math.Inf(1) }, "train.lr", "+Inf", "finite"},
		{"min_lr negative", func(c *Config) { c.Train.MinLR = -1 }, "train.min_lr", "-1", ">= 0"},
		{"min_lr above lr", func(c *Config) { c.Train.MinLR = 0.01 }, "train.min_lr", "0.01", "train.lr = 0.003"},
		{"warmup negative", func(c *Config) { c.Train.WarmupSteps = -1 }, "train.warmup_steps", "-1", "at least 0"},
		{"warmup above steps is the trainer's to shorten", func(c *Config) { c.Train.WarmupSteps = 301 }, "", "", ""},
		{"schedule", func(c *Config) { c.Train.Schedule = "cosin" }, "train.schedule", `"cosin"`, `did you mean "cosine"`},
		{"weight decay negative", func(c *Config) { c.Train.WeightDecay = -0.1 }, "train.weight_decay", "-0.1", ">= 0"},
		{"grad clip negative", func(c *Config) { c.Train.GradClip = -1 }, "train.grad_clip", "-1", ">= 0"},
		{"precision", func(c *Config) { c.Train.Precision = "fp16" }, "train.precision", `"fp16"`, "fp32, bf16"},
		{"log_every 0", func(c *Config) { c.Train.LogEvery = 0 }, "train.log_every", "0", "at least 1"},
		{"eval_every negative", func(c *Config) { c.Train.EvalEvery = -1 }, "train.eval_every", "-1", "at least 0"},
		{"eval_batches 0", func(c *Config) { c.Train.EvalBatches = 0 }, "train.eval_batches", "0", "at least 1"},
		{"checkpoint_every negative", func(c *Config) { c.Train.CheckpointEvery = -1 }, "train.checkpoint_every", "-1", "at least 0"},
		{"keep_last 0", func(c *Config) { c.Train.KeepLast = 0 }, "train.keep_last", "0", "at least 1"},
		{"beta1 1", func(c *Config) { c.Train.Beta1 = 1 }, "train.beta1", "1", "[0, 1)"},
		{"beta2 negative", func(c *Config) { c.Train.Beta2 = -0.1 }, "train.beta2", "-0.1", "[0, 1)"},
		{"eps 0", func(c *Config) { c.Train.Eps = 0 }, "train.eps", "0", "> 0"},
		{"dropout 1", func(c *Config) { c.Train.Dropout = 1 }, "train.dropout", "1", "[0, 1)"},

		{"data format", func(c *Config) { c.Data.Format = "csv" }, "data.format", `"csv"`, "auto, text, jsonl"},
		{"parquet without path", func(c *Config) { c.Data.Format = FormatParquet }, "data.format", `"parquet"`, "needs data.path"},
		{"parquet with path", func(c *Config) { c.Data.Format = FormatParquet; c.Data.Path = "d.parquet" }, "", "", ""},
		{"tokenizer typo", func(c *Config) { c.Data.Tokenizer = "bytes" }, "data.tokenizer", `"bytes"`, `did you mean "byte"`},
		{"tokenizer empty", func(c *Config) { c.Data.Tokenizer = "" }, "data.tokenizer", `""`, "tokenizer.json"},
		{"text field empty", func(c *Config) { c.Data.TextField = "" }, "data.text_field", `""`, "is empty"},
		{"val fraction 1", func(c *Config) { c.Data.ValFraction = 1 }, "data.val_fraction", "1", "[0, 1)"},
		{"val fraction negative", func(c *Config) { c.Data.ValFraction = -0.1 }, "data.val_fraction", "-0.1", "[0, 1)"},
		{"eval without validation data", func(c *Config) { c.Data.ValFraction = 0 }, "data.val_fraction", "0", "train.eval_every = 100"},
		{"no eval, no validation data", func(c *Config) { c.Data.ValFraction = 0; c.Train.EvalEvery = 0 }, "", "", ""},

		{"backend", func(c *Config) { c.Parallel.Backend = "nccl" }, "parallel.backend", `"nccl"`, "local, mpi"},
		{"world size 0", func(c *Config) { c.Parallel.WorldSize = 0 }, "parallel.world_size", "0", "at least 1"},
		{"expert parallel 0", func(c *Config) { c.Parallel.ExpertParallel = 0 }, "parallel.expert_parallel", "0", "at least 1"},
		{"expert parallel not dividing world", func(c *Config) { c.Parallel.WorldSize = 4; c.Parallel.ExpertParallel = 3 }, "parallel.expert_parallel", "3", "parallel.world_size = 4"},
		{"expert parallel not dividing experts", func(c *Config) { c.Parallel.WorldSize = 3; c.Parallel.ExpertParallel = 3 }, "parallel.expert_parallel", "3", "8 experts of layer 0; each rank of an expert-parallel group holds num_experts/expert_parallel experts: use one of 1, 2, 4, 8"},
		{"expert parallel 4 of 8 experts", func(c *Config) { c.Parallel.WorldSize = 8; c.Parallel.ExpertParallel = 4 }, "", "", ""},
		{"expert parallel on a dense model", func(c *Config) {
			c.MoE.NumExperts = Experts(0)
			c.Parallel.WorldSize = 2
			c.Parallel.ExpertParallel = 2
		}, "parallel.expert_parallel", "2", "dense model"},

		{"upcycle method", func(c *Config) { c.Upcycle.Method = "granualr" }, "upcycle.method", `"granualr"`, `did you mean "granular"`},
		{"upcycle method list", func(c *Config) { c.Upcycle.Method = "sparse" }, "upcycle.method", `"sparse"`, "copy, granular, drop, btx"},
		{"granularity 0", func(c *Config) { c.Upcycle.Granularity = 0 }, "upcycle.granularity", "0", "at least 1"},
		{"granularity without granular", func(c *Config) { c.Upcycle.Granularity = 2 }, "upcycle.granularity", "2", `not "copy"`},
		{"granularity with drop", func(c *Config) { c.Upcycle.Method = UpcycleDrop; c.Upcycle.Granularity = 4 }, "upcycle.granularity", "4", `not "drop"`},
		{"granular at G 2", func(c *Config) { c.Upcycle.Method = UpcycleGranular; c.Upcycle.Granularity = 2 }, "", "", ""},
		{"granular at G 1", func(c *Config) { c.Upcycle.Method = UpcycleGranular }, "", "", ""},
		{"granular K not a multiple of G", func(c *Config) {
			c.Upcycle.Method, c.Upcycle.Granularity, c.MoE.TopK = UpcycleGranular, 2, 3
		}, "moe.top_k", "3", "not a multiple of upcycle.granularity = 2"},
		{"granular E a multiple of G", func(c *Config) {
			c.Upcycle.Method, c.Upcycle.Granularity, c.MoE.NumExperts, c.MoE.TopK = UpcycleGranular, 4, Experts(12), 4
		}, "", "", ""},
		{"granular E not a multiple of G", func(c *Config) {
			c.Upcycle.Method, c.Upcycle.Granularity, c.MoE.NumExperts, c.MoE.TopK = UpcycleGranular, 4, Experts(10), 4
		}, "moe.num_experts", "10", "layer 0 10 experts, not a multiple of upcycle.granularity = 4"},
		{"granular E list not a multiple of G", func(c *Config) {
			c.Upcycle.Method, c.Upcycle.Granularity, c.MoE.NumExperts, c.MoE.TopK = UpcycleGranular, 4, ExpertsPerLayer(8, 8, 6, 8), 4
		}, "moe.num_experts", "[8, 8, 6, 8]", "layer 2 6 experts, not a multiple of upcycle.granularity = 4"},
		{"granular on a dense model", func(c *Config) {
			c.Upcycle.Method, c.Upcycle.Granularity, c.MoE.NumExperts, c.MoE.TopK = UpcycleGranular, 4, Experts(0), 3
		}, "", "", ""},
		{"drop ratio 1", func(c *Config) { c.Upcycle.DropRatio = 1 }, "", "", ""},
		{"drop ratio 0", func(c *Config) { c.Upcycle.DropRatio = 0 }, "", "", ""},
		{"drop ratio above 1", func(c *Config) { c.Upcycle.DropRatio = 1.5 }, "upcycle.drop_ratio", "1.5", "[0, 1]"},
		{"drop ratio negative", func(c *Config) { c.Upcycle.DropRatio = -0.1 }, "upcycle.drop_ratio", "-0.1", "[0, 1]"},
		{"drop ratio NaN", func(c *Config) { c.Upcycle.DropRatio = math.NaN() }, "upcycle.drop_ratio", "NaN", "[0, 1]"},
		{"router init std negative", func(c *Config) { c.Upcycle.RouterInitStd = -0.02 }, "upcycle.router_init_std", "-0.02", ">= 0"},
		{"router init std infinite", func(c *Config) { c.Upcycle.RouterInitStd = math.Inf(1) }, "upcycle.router_init_std", "+Inf", "finite"},
		{"router init std 0", func(c *Config) { c.Upcycle.RouterInitStd = 0 }, "", "", ""},
		{"noise std negative", func(c *Config) { c.Upcycle.NoiseStd = -1 }, "upcycle.noise_std", "-1", ">= 0"},
		{"noise std infinite", func(c *Config) { c.Upcycle.NoiseStd = math.Inf(1) }, "upcycle.noise_std", "+Inf", "finite"},
		{"every upcycle option on", func(c *Config) {
			c.Upcycle = UpcycleConfig{Method: UpcycleBTX, Granularity: 1, RouterInitStd: 0.01, DropRatio: 0.1,
				SharedExpert: true, CarryOptimizer: true, NoiseStd: 0.01, AllowMoESource: true}
		}, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(c)
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
			e := es[0]
			if e.Value != tc.value {
				t.Errorf("Value = %q, want %q", e.Value, tc.value)
			}
			msg := e.Error()
			for _, want := range []string{tc.key + ": ", tc.value, tc.msg} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if e.Hint == "" {
				t.Errorf("message %q says nothing about what to do", msg)
			}
		})
	}
}

// TestValidateCollectsAll checks that every broken rule is reported, in key order, in one error.
func TestValidateCollectsAll(t *testing.T) {
	c := Default()
	c.Model.NKVHeads = 3
	c.Train.LR = 0
	c.Parallel.Backend = "nccl"
	err := c.Validate()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []string{"model.n_kv_heads", "train.lr", "parallel.backend"}
	if !slices.Equal(es.Keys(), want) {
		t.Fatalf("keys = %v, want %v", es.Keys(), want)
	}
	if !strings.HasPrefix(err.Error(), "3 problems in the configuration:\n  - model.n_kv_heads: 3 ") {
		t.Errorf("message:\n%v", err)
	}
}

// TestLoadNamesSourceOfInvalidValue checks that Load tells where each invalid value came from.
func TestLoadNamesSourceOfInvalidValue(t *testing.T) {
	path := writeFile(t, "train:\n  lr: -1\n  steps: 10\n")
	_, err := Load(LoadOptions{
		ConfigRef: path,
		Env:       []string{"MOETRAIN_MODEL_N_KV_HEADS=3"},
		Sets:      []string{"model.max_seq_len=64"},
	})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := map[string]string{
		"model.n_kv_heads": "env MOETRAIN_MODEL_N_KV_HEADS",
		"train.seq_len":    "default", // 128 > max_seq_len 64 set on the command line
		"train.lr":         "file " + path + ", line 2",
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for _, e := range es {
		if src, ok := want[e.Key]; !ok || e.Source != src {
			t.Errorf("%s: source %q, want %q", e.Key, e.Source, src)
		}
	}
}

// TestLoadRefusesRouterCombinations: a router type set on the command line over a preset whose other
// router keys it cannot take is refused by Load, naming the key, where its value came from and the
// --set that fixes it; with that --set the configuration loads.
func TestLoadRefusesRouterCombinations(t *testing.T) {
	cases := []struct {
		preset, set, key, source, fix string
	}{
		{"mixtral-style", "moe.router.type=noisy_topk", "moe.router.pre_softmax", "preset mixtral-style, line 31", "moe.router.pre_softmax=false"},
		{"mixtral-style", "moe.router.type=sigmoid", "moe.router.pre_softmax", "preset mixtral-style, line 31", "moe.router.pre_softmax=false"},
		{"olmoe-style", "moe.router.type=sigmoid", "moe.router.normalize", "preset olmoe-style, line 36", "moe.router.normalize=true"},
		{"olmoe-style", "moe.router.pre_softmax=true", "moe.router.normalize", "preset olmoe-style, line 36", "moe.router.normalize=true"},
	}
	for _, tc := range cases {
		t.Run(tc.preset+" "+tc.set, func(t *testing.T) {
			_, err := Load(LoadOptions{ConfigRef: tc.preset, Sets: []string{tc.set}})
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one FieldError, got %v", err)
			}
			e := es[0]
			if e.Key != tc.key || e.Source != tc.source || !strings.Contains(e.Hint, tc.fix) {
				t.Errorf("got key %q source %q hint %q; want %s, %s, a hint with %s", e.Key, e.Source, e.Hint, tc.key, tc.source, tc.fix)
			}
			if _, err := Load(LoadOptions{ConfigRef: tc.preset, Sets: []string{tc.set, tc.fix}}); err != nil {
				t.Errorf("with %s: %v", tc.fix, err)
			}
		})
	}
}

// TestGlobalBatch: train.global_batch_size derives the accumulation per rank (over
// grad_accum_steps); one that does not split into whole micro-batches on every rank is an error
// naming the key and the values that work.
func TestGlobalBatch(t *testing.T) {
	c, err := Load(LoadOptions{Sets: []string{"train.micro_batch_size=4", "parallel.world_size=2", "train.global_batch_size=24", "train.grad_accum_steps=7"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.AccumSteps() != 3 || c.GlobalBatch() != 24 {
		t.Errorf("accumulation %d, global batch %d; want 3 and 24", c.AccumSteps(), c.GlobalBatch())
	}
	c, err = Load(LoadOptions{Sets: []string{"train.micro_batch_size=4", "parallel.world_size=2", "train.grad_accum_steps=5"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.AccumSteps() != 5 || c.GlobalBatch() != 40 {
		t.Errorf("accumulation %d, global batch %d; want 5 and 40", c.AccumSteps(), c.GlobalBatch())
	}
	for _, tc := range []struct {
		sets []string
		key  string
		want string
	}{
		{[]string{"train.micro_batch_size=4", "parallel.world_size=2", "train.global_batch_size=20"}, "train.global_batch_size", "multiple of 8"},
		{[]string{"train.global_batch_size=-1"}, "train.global_batch_size", "at least 0"},
		{[]string{"parallel.timeout=0"}, "parallel.timeout", "> 0"},
		{[]string{"parallel.timeout=1e9"}, "parallel.timeout", "a week"},
	} {
		_, err := Load(LoadOptions{Sets: tc.sets})
		var es Errors
		if !errors.As(err, &es) || !slices.Contains(es.Keys(), tc.key) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error on %s saying %q, got %v", tc.sets, tc.key, tc.want, err)
		}
	}
}
