package train

// Every configuration key reaches what it configures.
//
// TestConfigWiringModel sets each key of configs.Keys, on every preset, to a valid value other
// than the preset's and checks that the built layers.Config, layers.LossConfig, optim.Schedule or
// optim.AdamWConfig now holds it; keys read only by the training loop or the data loader must leave
// those untouched, and TestConfigWiringRun and TestConfigWiringData follow them into a
// short run and into LoadData. A key with no entry in wiring fails the test, so a new key needs one.
//
// Mutations tried, and the test that catches each:
//   - LossConfig maps seq_aux_loss to the batch loss (SeqAux left false): TestConfigWiringModel,
//     moe.load_balancing_type, on every preset.
//   - ModelConfig drops CapacityFactor from router.Config: TestConfigWiringModel, moe.capacity_factor.
//   - ModelConfig drops Dropout (train.dropout): TestConfigWiringModel, train.dropout.
//   - ModelConfig passes ExpertBias as false: TestConfigWiringModel, moe.router.expert_bias.
//   - the trainer builds its schedule itself, without LRSchedule's warmup fit: TestConfigWiringRun
//     (the 4-step run of a 30-step warmup fails to start).
//   - the trainer writes the warmup note twice: TestConfigWiringRun (the note is counted in the log).
//   - the checkpoint pruning ignores train.keep_last, or evaluation ignores train.eval_batches:
//     TestConfigWiringRun.
//   - an upcycle.* entry whose --set leaves the upcycle settings as they were: TestConfigWiringModel;
//     what each upcycle key does to the conversion is followed by train/upcycle's TestConfigWiringUpcycle.
//   - LoRAConfig drops RSLoRA or copies Init as "": TestConfigWiringModel, lora.rslora or lora.init.
//   - configs' Validate loses its pre_softmax rule: TestConfigValidBuilds (the router refuses a
//     configuration Validate passed). Its normalize rule, which no builder enforces, is caught by
//     configs' TestValidateRules.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
)

// reach says where a key's value is consumed.
type reach int

const (
	toModel    reach = iota // layers.Config, via ModelConfig
	toLoss                  // layers.LossConfig, via LossConfig
	toSchedule              // optim.Schedule, via LRSchedule
	toAdamW                 // optim.AdamWConfig, via AdamWConfig
	toRun                   // read by the training loop only: TestConfigWiringRun
	toData                  // read by LoadData only: TestConfigWiringData
	toRefusal               // one value runs in this version: CheckRunnable refuses the others
	toUpcycle               // read by upcycle.Convert only: train/upcycle's TestConfigWiringUpcycle
	toLoRA                  // layers.LoRAConfig, via LoRAConfig
	toRanks                 // read where the ranks start (RunLocal, RunRank): TestConfigWiringRanks
)

// built is everything a configuration is mapped to before training starts.
type built struct {
	model layers.Config
	loss  layers.LossConfig
	sched optim.Schedule
	adamw optim.AdamWConfig
	lora  layers.LoRAConfig
}

func build(c *configs.Config) built {
	s, _ := LRSchedule(c)
	return built{ModelConfig(c), LossConfig(c), s, AdamWConfig(c), LoRAConfig(c)}
}

// wire describes one key: sets gives --set values that change it from c's value (with any other key
// the new value needs), got reads what the consumer received, want says what it should be.
type wire struct {
	to   reach
	sets func(c *configs.Config) []string
	got  func(b built) any
	want func(c *configs.Config) any
}

func set(key string, v any) []string { return []string{fmt.Sprintf("%s=%v", key, v)} }

func toggle(key string, v bool) func(*configs.Config) []string {
	return func(*configs.Config) []string { return set(key, !v) }
}

// wiring has one entry per configuration key.
var wiring = map[string]wire{
	"model.vocab_size": {toModel, func(c *configs.Config) []string { return set("model.vocab_size", c.Model.VocabSize+256) },
		func(b built) any { return b.model.Vocab }, func(c *configs.Config) any { return c.Model.VocabSize }},
	"model.d_model": {toModel, func(c *configs.Config) []string { return set("model.d_model", 2*c.Model.DModel) },
		func(b built) any { return b.model.DModel }, func(c *configs.Config) any { return c.Model.DModel }},
	"model.n_layers": {toModel, func(c *configs.Config) []string { return set("model.n_layers", c.Model.NLayers+1) },
		func(b built) any { return b.model.Layers }, func(c *configs.Config) any { return c.Model.NLayers }},
	"model.n_heads": {toModel, func(c *configs.Config) []string { return set("model.n_heads", 2*c.Model.NHeads) },
		func(b built) any { return b.model.Heads }, func(c *configs.Config) any { return c.Model.NHeads }},
	"model.n_kv_heads": {toModel, func(c *configs.Config) []string {
		if c.Model.NKVHeads == 1 {
			return set("model.n_kv_heads", c.Model.NHeads)
		}
		return set("model.n_kv_heads", 1)
	}, func(b built) any { return b.model.KVHeads }, func(c *configs.Config) any { return c.Model.NKVHeads }},
	"model.ffn_hidden_size": {toModel, func(c *configs.Config) []string { return set("model.ffn_hidden_size", c.Model.FFNHiddenSize+64) },
		func(b built) any { return b.model.FFNHidden }, func(c *configs.Config) any { return c.Model.FFNHiddenSize }},
	"model.max_seq_len": {toModel, func(c *configs.Config) []string { return set("model.max_seq_len", 2*c.Model.MaxSeqLen) },
		func(b built) any { return b.model.MaxSeqLen }, func(c *configs.Config) any { return c.Model.MaxSeqLen }},
	"model.rope_theta": {toModel, func(c *configs.Config) []string { return set("model.rope_theta", 2*c.Model.RopeTheta) },
		func(b built) any { return b.model.RopeTheta }, func(c *configs.Config) any { return c.Model.RopeTheta }},
	"model.norm_eps": {toModel, func(c *configs.Config) []string { return set("model.norm_eps", 10*c.Model.NormEps) },
		func(b built) any { return b.model.NormEps }, func(c *configs.Config) any { return c.Model.NormEps }},
	"model.tie_embeddings": {toModel, func(c *configs.Config) []string { return toggle("model.tie_embeddings", c.Model.TieEmbeddings)(c) },
		func(b built) any { return b.model.TieEmbeddings }, func(c *configs.Config) any { return c.Model.TieEmbeddings }},
	"model.init_std": {toModel, func(c *configs.Config) []string { return set("model.init_std", 2*c.Model.InitStd) },
		func(b built) any { return b.model.InitStd }, func(c *configs.Config) any { return c.Model.InitStd }},

	"moe.num_experts": {toModel, func(c *configs.Config) []string { return set("moe.num_experts", c.ExpertsForLayer(0)+2) },
		func(b built) any { return b.model.Experts }, func(c *configs.Config) any {
			e := make([]int, c.Model.NLayers)
			for i := range e {
				e[i] = c.ExpertsForLayer(i)
			}
			return e
		}},
	"moe.top_k": {toModel, func(c *configs.Config) []string { return set("moe.top_k", 1+c.MoE.TopK%2) },
		func(b built) any { return b.model.Router.TopK }, func(c *configs.Config) any { return c.MoE.TopK }},
	"moe.layer_freq": {toModel, func(c *configs.Config) []string { return set("moe.layer_freq", 1+c.MoE.LayerFreq.Every%2) },
		func(b built) any { return b.model.MoELayers }, func(c *configs.Config) any { return c.MoELayers() }},
	"moe.expert_ffn_hidden_size": {toModel, func(c *configs.Config) []string {
		return set("moe.expert_ffn_hidden_size", 2*c.MoE.ExpertFFNHiddenSize)
	},
		func(b built) any { return b.model.ExpertFFN }, func(c *configs.Config) any { return c.MoE.ExpertFFNHiddenSize }},
	"moe.shared_experts": {toModel, func(c *configs.Config) []string { return set("moe.shared_experts", c.MoE.SharedExperts+1) },
		func(b built) any { return b.model.SharedExperts }, func(c *configs.Config) any { return c.MoE.SharedExperts }},
	"moe.capacity_factor": {toModel, func(c *configs.Config) []string { return set("moe.capacity_factor", c.MoE.CapacityFactor+1.25) },
		func(b built) any { return b.model.Router.CapacityFactor }, func(c *configs.Config) any { return c.MoE.CapacityFactor }},
	"moe.aux_loss_coeff": {toLoss, func(c *configs.Config) []string { return set("moe.aux_loss_coeff", c.MoE.AuxLossCoeff+0.01) },
		func(b built) any { return b.loss.AuxCoeff }, func(c *configs.Config) any { return c.MoE.AuxLossCoeff }},
	"moe.z_loss_coeff": {toLoss, func(c *configs.Config) []string { return set("moe.z_loss_coeff", c.MoE.ZLossCoeff+0.001) },
		func(b built) any { return b.loss.ZCoeff }, func(c *configs.Config) any { return c.MoE.ZLossCoeff }},
	"moe.load_balancing_type": {toLoss, func(c *configs.Config) []string {
		next := map[configs.LoadBalancing]configs.LoadBalancing{configs.LoadBalancingAux: configs.LoadBalancingSeqAux,
			configs.LoadBalancingSeqAux: configs.LoadBalancingNone, configs.LoadBalancingNone: configs.LoadBalancingAux}
		return set("moe.load_balancing_type", next[c.MoE.LoadBalancingType])
	}, func(b built) any { return [2]any{b.loss.AuxCoeff, b.loss.SeqAux} }, func(c *configs.Config) any {
		if c.MoE.LoadBalancingType == configs.LoadBalancingNone {
			return [2]any{0.0, false}
		}
		return [2]any{c.MoE.AuxLossCoeff, c.MoE.LoadBalancingType == configs.LoadBalancingSeqAux}
	}},

	"moe.router.type": {toModel, func(c *configs.Config) []string {
		return []string{"moe.router.pre_softmax=false", "moe.router.normalize=true", "moe.router.type=sigmoid"}
	}, func(b built) any { return b.model.Router.Type }, func(c *configs.Config) any { return string(c.MoE.Router.Type) }},
	"moe.router.pre_softmax": {toModel, func(c *configs.Config) []string {
		return []string{"moe.router.normalize=true", fmt.Sprintf("moe.router.pre_softmax=%v", !c.MoE.Router.PreSoftmax)}
	}, func(b built) any { return b.model.Router.PreSoftmax }, func(c *configs.Config) any { return c.MoE.Router.PreSoftmax }},
	"moe.router.jitter_eps": {toModel, func(c *configs.Config) []string { return set("moe.router.jitter_eps", c.MoE.Router.JitterEps+0.01) },
		func(b built) any { return b.model.Router.JitterEps }, func(c *configs.Config) any { return c.MoE.Router.JitterEps }},
	"moe.router.expert_bias": {toModel, func(c *configs.Config) []string { return toggle("moe.router.expert_bias", c.MoE.Router.ExpertBias)(c) },
		func(b built) any { return b.model.Router.ExpertBias }, func(c *configs.Config) any { return c.MoE.Router.ExpertBias }},
	"moe.router.bias_update_rate": {toModel, func(c *configs.Config) []string {
		return set("moe.router.bias_update_rate", 2*c.MoE.Router.BiasUpdateRate+0.001)
	}, func(b built) any { return b.model.Router.BiasUpdateRate }, func(c *configs.Config) any { return c.MoE.Router.BiasUpdateRate }},
	"moe.router.noise_std": {toModel, func(c *configs.Config) []string { return set("moe.router.noise_std", 2*c.MoE.Router.NoiseStd+0.5) },
		func(b built) any { return b.model.Router.NoiseStd }, func(c *configs.Config) any { return c.MoE.Router.NoiseStd }},
	"moe.router.normalize": {toModel, func(c *configs.Config) []string {
		return []string{"moe.router.pre_softmax=false", fmt.Sprintf("moe.router.normalize=%v", !c.MoE.Router.Normalize)}
	}, func(b built) any { return b.model.Router.Normalize }, func(c *configs.Config) any { return c.MoE.Router.Normalize }},

	"train.steps": {toSchedule, func(c *configs.Config) []string { return set("train.steps", c.Train.Steps+100) },
		func(b built) any { return b.sched.TotalSteps }, func(c *configs.Config) any { return c.Train.Steps }},
	"train.micro_batch_size": {to: toRun, sets: func(c *configs.Config) []string { return set("train.micro_batch_size", c.Train.MicroBatchSize+1) }},
	"train.grad_accum_steps": {to: toRun, sets: func(c *configs.Config) []string { return set("train.grad_accum_steps", c.Train.GradAccumSteps+1) }},
	"train.async_save":       {to: toRun, sets: func(c *configs.Config) []string { return toggle("train.async_save", c.Train.AsyncSave)(c) }},
	"train.global_batch_size": {to: toRun, sets: func(c *configs.Config) []string {
		return set("train.global_batch_size", c.Train.MicroBatchSize*c.Train.GradAccumSteps*3)
	}},
	"train.seq_len": {toLoss, func(c *configs.Config) []string { return set("train.seq_len", c.Train.SeqLen/2) },
		func(b built) any { return b.loss.SeqLen }, func(c *configs.Config) any { return c.Train.SeqLen }},
	"train.lr": {toSchedule, func(c *configs.Config) []string { return set("train.lr", 2*c.Train.LR) },
		func(b built) any { return [2]float64{b.sched.LR, b.adamw.LR} }, func(c *configs.Config) any { return [2]float64{c.Train.LR, c.Train.LR} }},
	"train.min_lr": {toSchedule, func(c *configs.Config) []string { return set("train.min_lr", c.Train.MinLR/2) },
		func(b built) any { return b.sched.MinLR }, func(c *configs.Config) any { return c.Train.MinLR }},
	"train.warmup_steps": {toSchedule, func(c *configs.Config) []string { return set("train.warmup_steps", c.Train.WarmupSteps/2) },
		func(b built) any { return b.sched.WarmupSteps }, func(c *configs.Config) any { return c.Train.WarmupSteps }},
	"train.schedule": {toSchedule, func(c *configs.Config) []string { return set("train.schedule", "linear") },
		func(b built) any { return string(b.sched.Decay) }, func(c *configs.Config) any { return string(c.Train.Schedule) }},
	"train.weight_decay": {toAdamW, func(c *configs.Config) []string { return set("train.weight_decay", c.Train.WeightDecay+0.05) },
		func(b built) any { return b.adamw.WeightDecay }, func(c *configs.Config) any { return c.Train.WeightDecay }},
	"train.grad_clip":        {to: toRun, sets: func(c *configs.Config) []string { return set("train.grad_clip", c.Train.GradClip+0.5) }},
	"train.seed":             {to: toRun, sets: func(c *configs.Config) []string { return set("train.seed", c.Train.Seed+1) }},
	"train.precision":        {to: toRefusal, sets: func(*configs.Config) []string { return set("train.precision", "bf16") }},
	"train.log_every":        {to: toRun, sets: func(c *configs.Config) []string { return set("train.log_every", c.Train.LogEvery+1) }},
	"train.eval_every":       {to: toRun, sets: func(c *configs.Config) []string { return set("train.eval_every", c.Train.EvalEvery+1) }},
	"train.eval_batches":     {to: toRun, sets: func(c *configs.Config) []string { return set("train.eval_batches", c.Train.EvalBatches+1) }},
	"train.checkpoint_every": {to: toRun, sets: func(c *configs.Config) []string { return set("train.checkpoint_every", c.Train.CheckpointEvery+1) }},
	"train.keep_last":        {to: toRun, sets: func(c *configs.Config) []string { return set("train.keep_last", c.Train.KeepLast+1) }},
	"train.beta1": {toAdamW, func(c *configs.Config) []string { return set("train.beta1", c.Train.Beta1/2) },
		func(b built) any { return b.adamw.Beta1 }, func(c *configs.Config) any { return c.Train.Beta1 }},
	"train.beta2": {toAdamW, func(c *configs.Config) []string { return set("train.beta2", c.Train.Beta2/2) },
		func(b built) any { return b.adamw.Beta2 }, func(c *configs.Config) any { return c.Train.Beta2 }},
	"train.eps": {toAdamW, func(c *configs.Config) []string { return set("train.eps", 2*c.Train.Eps) },
		func(b built) any { return b.adamw.Eps }, func(c *configs.Config) any { return c.Train.Eps }},
	"train.dropout": {toModel, func(c *configs.Config) []string { return set("train.dropout", c.Train.Dropout+0.1) },
		func(b built) any { return b.model.Dropout }, func(c *configs.Config) any { return c.Train.Dropout }},

	"data.path":         {to: toData, sets: func(*configs.Config) []string { return set("data.path", "corpus.txt") }},
	"data.format":       {to: toData, sets: func(*configs.Config) []string { return set("data.format", "text") }},
	"data.tokenizer":    {to: toData, sets: func(*configs.Config) []string { return set("data.tokenizer", "tok/tokenizer.json") }},
	"data.text_field":   {to: toData, sets: func(*configs.Config) []string { return set("data.text_field", "content") }},
	"data.val_fraction": {to: toData, sets: func(c *configs.Config) []string { return set("data.val_fraction", c.Data.ValFraction/2) }},

	"parallel.backend":    {to: toRanks, sets: func(*configs.Config) []string { return set("parallel.backend", "mpi") }},
	"parallel.world_size": {to: toRanks, sets: func(*configs.Config) []string { return set("parallel.world_size", 2) }},
	"parallel.expert_parallel": {to: toRanks, sets: func(*configs.Config) []string {
		return []string{"parallel.world_size=2", "parallel.expert_parallel=2"}
	}},
	"parallel.timeout": {to: toRanks, sets: func(c *configs.Config) []string { return set("parallel.timeout", c.Parallel.Timeout/2) }},

	"upcycle.method": {to: toUpcycle, sets: func(*configs.Config) []string { return set("upcycle.method", "drop") }},
	"upcycle.granularity": {to: toUpcycle, sets: func(*configs.Config) []string {
		return []string{"upcycle.method=granular", "upcycle.granularity=2"}
	}},
	"upcycle.router_init_std": {to: toUpcycle, sets: func(c *configs.Config) []string {
		return set("upcycle.router_init_std", 2*c.Upcycle.RouterInitStd+0.01)
	}},
	"upcycle.drop_ratio":    {to: toUpcycle, sets: func(c *configs.Config) []string { return set("upcycle.drop_ratio", c.Upcycle.DropRatio/2) }},
	"upcycle.shared_expert": {to: toUpcycle, sets: func(c *configs.Config) []string { return toggle("upcycle.shared_expert", c.Upcycle.SharedExpert)(c) }},
	"upcycle.carry_optimizer": {to: toUpcycle, sets: func(c *configs.Config) []string {
		return toggle("upcycle.carry_optimizer", c.Upcycle.CarryOptimizer)(c)
	}},
	"upcycle.noise_std": {to: toUpcycle, sets: func(c *configs.Config) []string { return set("upcycle.noise_std", c.Upcycle.NoiseStd+0.01) }},
	"upcycle.allow_moe_source": {to: toUpcycle, sets: func(c *configs.Config) []string {
		return toggle("upcycle.allow_moe_source", c.Upcycle.AllowMoESource)(c)
	}},

	"lora.rank": {toLoRA, func(c *configs.Config) []string { return set("lora.rank", c.LoRA.Rank+4) },
		func(b built) any { return b.lora.Rank }, func(c *configs.Config) any { return c.LoRA.Rank }},
	"lora.alpha": {toLoRA, func(c *configs.Config) []string { return set("lora.alpha", 2*c.LoRA.Alpha+1) },
		func(b built) any { return b.lora.Alpha }, func(c *configs.Config) any { return c.LoRA.Alpha }},
	"lora.dropout": {toLoRA, func(c *configs.Config) []string { return set("lora.dropout", c.LoRA.Dropout/2+0.1) },
		func(b built) any { return b.lora.Dropout }, func(c *configs.Config) any { return c.LoRA.Dropout }},
	"lora.targets": {toLoRA, func(*configs.Config) []string { return set("lora.targets", "gate,q_proj") },
		func(b built) any { return b.lora.Targets }, func(c *configs.Config) any { return c.LoRA.Targets }},
	"lora.rslora": {toLoRA, func(c *configs.Config) []string { return toggle("lora.rslora", c.LoRA.RSLoRA)(c) },
		func(b built) any { return b.lora.RSLoRA }, func(c *configs.Config) any { return c.LoRA.RSLoRA }},
	"lora.init": {toLoRA, func(c *configs.Config) []string {
		return set("lora.init", map[configs.LoRAInit]string{configs.LoRAInitKaiming: "gaussian", configs.LoRAInitGaussian: "kaiming"}[c.LoRA.Init])
	}, func(b built) any { return b.lora.Init }, func(c *configs.Config) any { return string(c.LoRA.Init) }},
}

// presetBase makes a preset's MoE keys observable: a dense preset builds no router, so its moe keys
// are followed on the same preset with 4 experts and a balancing loss.
func presetBase(t *testing.T, name string) []string {
	t.Helper()
	c, err := configs.Load(configs.LoadOptions{ConfigRef: name})
	if err != nil {
		t.Fatal(err)
	}
	if c.IsDense() {
		return []string{"moe.num_experts=4", "moe.load_balancing_type=aux_loss"}
	}
	return nil
}

func TestConfigWiringModel(t *testing.T) {
	for _, key := range configs.Keys() {
		if _, ok := wiring[key]; !ok {
			t.Errorf("%s has no entry in wiring: say where it reaches", key)
		}
	}
	if len(wiring) != len(configs.Keys()) {
		t.Errorf("wiring has %d entries for %d keys", len(wiring), len(configs.Keys()))
	}
	for _, preset := range configs.Presets() {
		base := presetBase(t, preset)
		c0, err := configs.Load(configs.LoadOptions{ConfigRef: preset, Sets: base})
		if err != nil {
			t.Fatal(err)
		}
		b0 := build(c0)
		for _, key := range configs.Keys() {
			w := wiring[key]
			sets := append(slices.Clone(base), w.sets(c0)...)
			c, err := configs.Load(configs.LoadOptions{ConfigRef: preset, Sets: sets})
			if err != nil {
				t.Errorf("%s %v: %v", preset, sets, err)
				continue
			}
			b := build(c)
			switch w.to {
			case toRun, toData, toUpcycle, toRanks:
				if !reflect.DeepEqual(b, b0) {
					t.Errorf("%s: %s is read only by the %s, but %v changed the model, loss or optimizer settings",
						preset, key, map[reach]string{toRun: "training loop", toData: "data loader", toUpcycle: "upcycle conversion",
							toRanks: "multi-rank runner"}[w.to], sets)
				}
				if w.to == toUpcycle && reflect.DeepEqual(c.Upcycle, c0.Upcycle) {
					t.Errorf("%s %v: %s left the upcycle settings as they were", preset, sets, key)
				}
			case toRefusal:
				if err := c.CheckRunnable(); err == nil || !strings.Contains(err.Error(), key) {
					t.Errorf("%s %v: CheckRunnable = %v, want a refusal naming %s", preset, sets, err, key)
				}
			default:
				if got, want := w.got(b), w.want(c); !reflect.DeepEqual(got, want) {
					t.Errorf("%s %v: %s reached as %v, want %v", preset, sets, key, got, want)
				}
				if reflect.DeepEqual(w.got(b), w.got(b0)) {
					t.Errorf("%s %v: %s did not change what it configures (%v)", preset, sets, key, w.got(b))
				}
				if bare, bare0 := b, b0; w.to == toLoRA {
					bare.lora, bare0.lora = layers.LoRAConfig{}, layers.LoRAConfig{}
					if !reflect.DeepEqual(bare, bare0) {
						t.Errorf("%s: %s configures the adapters only, but %v changed the model, loss or optimizer settings", preset, key, sets)
					}
				}
			}
		}
	}
}

// wiringRun is a small MoE model on the embedded corpus that trains a step in milliseconds.
var wiringRun = []string{
	"model.d_model=16", "model.n_layers=1", "model.n_heads=2", "model.n_kv_heads=1", "model.ffn_hidden_size=32",
	"model.max_seq_len=16", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
	"train.seq_len=16", "train.micro_batch_size=2", "train.steps=4", "train.log_every=1", "train.eval_every=4",
	"train.eval_batches=2", "train.checkpoint_every=1", "train.keep_last=5",
}

// runOutcome is what a short run leaves behind.
type runOutcome struct {
	cfg    *configs.Config
	res    *Result
	recs   []Record
	ckpts  int    // step directories kept
	log    string // everything the trainer wrote to its log
	params [][]float32
	dir    string // the run directory
}

func runShort(t *testing.T, sets ...string) runOutcome {
	t.Helper()
	c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: append(slices.Clone(wiringRun), sets...)})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var log bytes.Buffer
	off := false
	tr, err := New(Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c), Val: ds.EvalSet(c), Log: &log, TTY: &off})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	steps, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "step-*"))
	out := runOutcome{cfg: c, res: res, recs: recs, ckpts: len(steps), log: log.String(), dir: dir}
	for _, p := range tr.Model().Params() {
		out.params = append(out.params, slices.Clone(p.F32()))
	}
	return out
}

// valLosses returns the steps with an evaluation and their losses.
func (o runOutcome) valLosses() map[int]float64 {
	out := map[int]float64{}
	for _, r := range o.recs {
		if r.ValLoss != nil {
			out[r.Step] = *r.ValLoss
		}
	}
	return out
}

// TestConfigWiringRun follows each key the training loop reads into a short run, changing
// one key at a time from a base run, and checks the schedule the run follows, warmup fit included.
func TestConfigWiringRun(t *testing.T) {
	base := runShort(t)
	if base.res.Steps != 4 || len(base.recs) != 4 || base.ckpts != 4 || !slices.Equal(keysOf(base.valLosses()), []int{4}) {
		t.Fatalf("base run: %d steps, %d records, %d checkpoints, evaluations at %v", base.res.Steps, len(base.recs), base.ckpts, keysOf(base.valLosses()))
	}
	// The tiny preset warms up over 30 steps; a 4-step run warms up over 4/10 = 0 steps, and says so once.
	if n := strings.Count(base.log, "warmup: train.warmup_steps 30 is not below train.steps 4"); n != 1 {
		t.Errorf("the warmup note appears %d times in the log:\n%s", n, base.log)
	}
	sched, _ := LRSchedule(base.cfg)
	if sched.WarmupSteps != 0 {
		t.Errorf("fitted warmup = %d, want 0", sched.WarmupSteps)
	}
	for _, r := range base.recs {
		if want := sched.At(r.Step - 1); math.Abs(r.LR-want) > 1e-12*want {
			t.Errorf("step %d ran at lr %g, the schedule says %g", r.Step, r.LR, want)
		}
	}
	tokens := func(o runOutcome) int64 { return o.recs[len(o.recs)-1].Tokens }
	checks := map[string]struct {
		sets  []string
		check func(o runOutcome) string // "" when the key reached the run
	}{
		"train.steps": {[]string{"train.steps=5"}, func(o runOutcome) string {
			return expect(o.res.Steps == 5, "ran %d steps", o.res.Steps)
		}},
		"train.micro_batch_size": {[]string{"train.micro_batch_size=3"}, func(o runOutcome) string {
			return expect(tokens(o) == 4*3*16, "trained on %d tokens", tokens(o))
		}},
		"train.grad_accum_steps": {[]string{"train.grad_accum_steps=2"}, func(o runOutcome) string {
			return expect(tokens(o) == 4*2*16*2, "trained on %d tokens", tokens(o))
		}},
		"train.global_batch_size": {[]string{"train.global_batch_size=6"}, func(o runOutcome) string {
			return expect(tokens(o) == 4*6*16, "trained on %d tokens", tokens(o))
		}},
		"train.seq_len": {[]string{"train.seq_len=8"}, func(o runOutcome) string {
			return expect(tokens(o) == 4*2*8, "trained on %d tokens", tokens(o))
		}},
		"train.grad_clip": {[]string{"train.grad_clip=0.001"}, func(o runOutcome) string {
			return expect(!reflect.DeepEqual(o.params, base.params), "the weights are those of the base run")
		}},
		"train.seed": {[]string{"train.seed=99"}, func(o runOutcome) string {
			return expect(!reflect.DeepEqual(o.params, base.params), "the weights are those of the base run")
		}},
		"train.log_every": {[]string{"train.log_every=2"}, func(o runOutcome) string {
			return expect(len(o.recs) == 2, "wrote %d records", len(o.recs))
		}},
		"train.eval_every": {[]string{"train.eval_every=2"}, func(o runOutcome) string {
			return expect(slices.Equal(keysOf(o.valLosses()), []int{2, 4}), "evaluated at %v", keysOf(o.valLosses()))
		}},
		"train.eval_batches": {[]string{"train.eval_batches=1"}, func(o runOutcome) string {
			v, b := o.valLosses()[4], base.valLosses()[4]
			return expect(reflect.DeepEqual(o.params, base.params) && v != b, "val loss %v, base %v", v, b)
		}},
		"train.checkpoint_every": {[]string{"train.checkpoint_every=2"}, func(o runOutcome) string {
			return expect(o.ckpts == 2, "kept %d checkpoints", o.ckpts)
		}},
		"train.async_save": {[]string{"train.async_save=true"}, func(o runOutcome) string {
			return expect(o.ckpts == 4 && reflect.DeepEqual(o.params, base.params) && strings.Contains(o.log, "writing in the background") &&
				!strings.Contains(base.log, "writing in the background"), "kept %d checkpoints; log:\n%s", o.ckpts, o.log)
		}},
		"train.keep_last": {[]string{"train.keep_last=2"}, func(o runOutcome) string {
			return expect(o.ckpts == 2, "kept %d checkpoints", o.ckpts)
		}},
	}
	for key, w := range wiring {
		if _, ok := checks[key]; w.to == toRun && !ok {
			t.Errorf("%s is read by the training loop, but no run follows it", key)
		}
	}
	for key, ck := range checks {
		if wiring[key].to != toRun && wiring[key].to != toLoss && wiring[key].to != toSchedule {
			t.Errorf("%s: followed into a run but not listed as read by it", key)
		}
		if msg := ck.check(runShort(t, ck.sets...)); msg != "" {
			t.Errorf("%s: with %v the run %s", key, ck.sets, msg)
		}
	}
}

func expect(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func keysOf(m map[int]float64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestConfigWiringData follows each data key into LoadData.
func TestConfigWiringData(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "docs.jsonl")
	if err := os.WriteFile(jsonl, []byte(strings.Repeat(`{"text": "a short document, long enough for one window", "content": "a much longer document body, twice as long as the text field holds"}`+"\n", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "corpus.dat") // no extension to go by: only data.format says text
	if err := os.WriteFile(plain, []byte(strings.Repeat("plain text corpus. ", 400)), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(sets ...string) (*Data, error) {
		c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: append([]string{"train.seq_len=16", "model.max_seq_len=16"}, sets...)})
		if err != nil {
			t.Fatal(err)
		}
		return LoadData(c)
	}
	tokens := func(d *Data, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		return len(d.Dataset.Tokens())
	}
	text, field := tokens(load("data.path="+jsonl)), tokens(load("data.path="+jsonl, "data.text_field=content"))
	if !(field > text) {
		t.Errorf("data.text_field: %d tokens with content, %d with text", field, text)
	}
	oneDoc := []string{"data.path=" + plain, "data.val_fraction=0", "train.eval_every=0"} // one document holds out nothing
	if _, err := load(oneDoc...); err == nil || !strings.Contains(err.Error(), "--set data.format=text") {
		t.Errorf("data.path: a .dat file loaded without data.format: %v", err)
	}
	if d, err := load(append(oneDoc, "data.format=text")...); err != nil || d.Source != plain {
		t.Errorf("data.format: %v, source %v", err, d)
	}
	if _, err := load("data.tokenizer=" + filepath.Join(dir, "missing", "tokenizer.json")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("data.tokenizer: %v, want an error about the missing file", err)
	}
	d1, err1 := load("data.val_fraction=0.05")
	d2, err2 := load("data.val_fraction=0.2")
	if err1 != nil || err2 != nil || !(d2.Dataset.ValWindows() > d1.Dataset.ValWindows()) {
		t.Errorf("data.val_fraction: %v %v", err1, err2)
	}
	for _, key := range []string{"data.path", "data.format", "data.tokenizer", "data.text_field", "data.val_fraction"} {
		if wiring[key].to != toData {
			t.Errorf("%s: followed into LoadData but not listed as read by it", key)
		}
	}
}

// TestConfigValidBuilds: every router setting configs' Validate passes, on every preset, builds a
// router; and every attention shape it passes builds a model. Validate is the one check: no builder
// refuses what it accepts.
func TestConfigValidBuilds(t *testing.T) {
	for _, preset := range configs.Presets() {
		base := presetBase(t, preset)
		for _, typ := range []string{"topk_softmax", "sigmoid", "noisy_topk"} {
			for _, pre := range []bool{false, true} {
				for _, norm := range []bool{false, true} {
					for _, bias := range []bool{false, true} {
						for _, cf := range []float64{0, 1.25} {
							sets := append(slices.Clone(base), "moe.router.type="+typ, "moe.router.pre_softmax="+strconv.FormatBool(pre),
								"moe.router.normalize="+strconv.FormatBool(norm), "moe.router.expert_bias="+strconv.FormatBool(bias),
								"moe.capacity_factor="+strconv.FormatFloat(cf, 'g', -1, 64))
							c, err := configs.Load(configs.LoadOptions{ConfigRef: preset, Sets: sets})
							if err != nil {
								continue // refused up front, with the key: what the builders would refuse is refused here
							}
							mc := ModelConfig(c)
							for i, moe := range mc.MoELayers {
								rc := mc.Router
								rc.NumExperts = mc.Experts[i]
								if err := rc.Validate(); moe && err != nil {
									t.Errorf("%s %v: Validate passed, the router refuses: %v", preset, sets, err)
								}
							}
						}
					}
				}
			}
		}
	}
	for _, shape := range [][3]int{{32, 2, 1}, {32, 2, 2}, {32, 4, 2}, {32, 4, 3}, {32, 3, 1}, {36, 4, 2}, {32, 8, 4}, {32, 2, 4}, {48, 6, 3}} {
		sets := append(slices.Clone(wiringRun), fmt.Sprintf("model.d_model=%d", shape[0]), fmt.Sprintf("model.n_heads=%d", shape[1]),
			fmt.Sprintf("model.n_kv_heads=%d", shape[2]))
		c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: sets})
		if err != nil {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("d_model %d, heads %d, kv heads %d: Validate passed, the model panics: %v", shape[0], shape[1], shape[2], r)
				}
			}()
			if _, err := layers.New(ModelConfig(c), autograd.Float32, 1); err != nil {
				t.Errorf("d_model %d, heads %d, kv heads %d: Validate passed, the model refuses: %v", shape[0], shape[1], shape[2], err)
			}
		}()
	}
}
