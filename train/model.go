package train

import (
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
	"github.com/moetrain/moetrain/router"
)

// ModelConfig maps a validated configuration to the model's architecture.
func ModelConfig(c *configs.Config) layers.Config {
	m := c.Model
	lc := layers.Config{
		Vocab: m.VocabSize, DModel: m.DModel, Layers: m.NLayers, Heads: m.NHeads, KVHeads: m.NKVHeads,
		FFNHidden: m.FFNHiddenSize, MaxSeqLen: m.MaxSeqLen, RopeTheta: m.RopeTheta, NormEps: m.NormEps,
		TieEmbeddings: m.TieEmbeddings, InitStd: m.InitStd, Dropout: c.Train.Dropout,
	}
	if c.IsDense() {
		return lc
	}
	lc.MoELayers = c.MoELayers()
	lc.Experts = make([]int, m.NLayers)
	for i, moe := range lc.MoELayers {
		if moe {
			lc.Experts[i] = c.ExpertsForLayer(i)
		}
	}
	lc.ExpertFFN = c.MoE.ExpertFFNHiddenSize
	lc.SharedExperts = c.MoE.SharedExperts
	r := c.MoE.Router
	lc.Router = router.Config{
		TopK: c.MoE.TopK, Type: string(r.Type), PreSoftmax: r.PreSoftmax, Normalize: r.Normalize,
		JitterEps: r.JitterEps, NoiseStd: r.NoiseStd, ExpertBias: r.ExpertBias, BiasUpdateRate: r.BiasUpdateRate,
		CapacityFactor: c.MoE.CapacityFactor,
	}
	return lc
}

// LossConfig maps the configuration's auxiliary-loss settings.
func LossConfig(c *configs.Config) layers.LossConfig {
	lc := layers.LossConfig{ZCoeff: c.MoE.ZLossCoeff, IgnoreIdx: IgnoreIndex, SeqLen: c.Train.SeqLen}
	switch c.MoE.LoadBalancingType {
	case configs.LoadBalancingAux:
		lc.AuxCoeff = c.MoE.AuxLossCoeff
	case configs.LoadBalancingSeqAux:
		lc.AuxCoeff, lc.SeqAux = c.MoE.AuxLossCoeff, true
	}
	return lc
}

// IgnoreIndex is the target id that contributes no loss.
const IgnoreIndex = -100

// checkSupported refuses settings this build validates but cannot run yet,
// naming the key and what to use instead (configs' CheckRunnable).
func checkSupported(c *configs.Config) error { return c.CheckRunnable() }

// AdamWConfig maps train.lr, beta1, beta2, eps and weight_decay to the
// optimizer's settings.
func AdamWConfig(c *configs.Config) optim.AdamWConfig {
	t := c.Train
	return optim.AdamWConfig{LR: t.LR, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps, WeightDecay: t.WeightDecay}
}

// LRSchedule maps train.schedule, lr, min_lr, warmup_steps and steps to the
// learning-rate schedule. A warmup that does not end before train.steps is
// shortened to a tenth of the run (optim.Schedule.FitWarmup); note then says
// so, in a line for the log, and is "" otherwise.
func LRSchedule(c *configs.Config) (s optim.Schedule, note string) {
	t := c.Train
	s = optim.Schedule{Decay: optim.Decay(t.Schedule), LR: t.LR, MinLR: t.MinLR, WarmupSteps: t.WarmupSteps, TotalSteps: t.Steps}
	s, fitted := s.FitWarmup()
	if fitted {
		note = fmt.Sprintf("warmup: train.warmup_steps %d is not below train.steps %d; warming up over the first %d steps (a tenth of the run) instead",
			t.WarmupSteps, t.Steps, s.WarmupSteps)
	}
	return s, note
}

// NewModel builds a float32 model from a configuration, seeded by train.seed.
func NewModel(c *configs.Config) (*layers.Model, error) {
	m, err := layers.New(ModelConfig(c), autograd.Float32, uint64(c.Train.Seed))
	if err != nil {
		return nil, fmt.Errorf("building model: %w", err)
	}
	return m, nil
}

// expertBiasName names the checkpoint tensor holding an MoE layer's
// selection bias (aux-loss-free balancing state, not a trainable parameter).
func expertBiasName(layer int) string { return fmt.Sprintf("layers.%d.moe.gate.expert_bias", layer) }

// ModelTensors returns the model's state by name for a checkpoint: every
// parameter, the LoRA adapters when attached, and each router's expert bias.
func ModelTensors(m *layers.Model) map[string]*autograd.Tensor {
	out := make(map[string]*autograd.Tensor, len(m.Params())+len(m.Blocks))
	for _, p := range m.Params() {
		out[p.Name] = p
	}
	for _, a := range m.Adapters() {
		out[a.Name] = a
	}
	for i, blk := range m.Blocks {
		if blk.MoE != nil && blk.MoE.Router.Config().ExpertBias {
			b := blk.MoE.Router.Bias()
			out[expertBiasName(i)] = autograd.FromSlice(b, len(b))
		}
	}
	return out
}

// SetModelTensors copies named tensors into the model, strictly: every
// parameter must be present with its shape and unknown names are errors, all
// checked before any value is copied, so a checkpoint of another architecture
// is refused rather than half-loaded (LoadModelTensors, which can also load a
// subset).
func SetModelTensors(m *layers.Model, ts map[string]*autograd.Tensor, source string) error {
	_, err := LoadModelTensors(m, ts, source, checkpoint.AssignOptions{})
	return err
}

// LoadModel reads a checkpoint (any form checkpoint.Resolve accepts) and
// returns its configuration and model; a LoRA run's checkpoint comes with its
// adapters attached. Only the model file is read and verified (the returned
// checkpoint has no optimizer state); its tensors are compared with the shapes
// the configuration implies before the model is built, and non-finite
// weights are refused.
func LoadModel(ckptArg string) (*configs.Config, *layers.Model, *checkpoint.Checkpoint, error) {
	return loadModel(ckptArg, checkpoint.LoadModelOnly)
}

// loadModel is LoadModel reading the step directory with load (Load keeps
// the optimizer state, LoadModelOnly skips it).
func loadModel(ckptArg string, load func(string) (*checkpoint.Checkpoint, error)) (*configs.Config, *layers.Model, *checkpoint.Checkpoint, error) {
	dir, err := checkpoint.Resolve(ckptArg)
	if err != nil {
		return nil, nil, nil, err
	}
	ck, err := load(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := configs.FromYAML([]byte(ck.Config))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s: config: %w", dir, err)
	}
	if err := useStoredTokenizer(cfg, dir); err != nil {
		return nil, nil, nil, err
	}
	file := filepath.Join(dir, checkpoint.ModelFile)
	if err := checkpoint.CheckModelShapes(cfg, checkpoint.TensorShapes(ck.Model), file); err != nil {
		return nil, nil, nil, err
	}
	if err := checkpoint.CheckFinite(ck.Model, file, "weight", "the run diverged or the file is damaged: use an earlier checkpoint (--ckpt with its step directory)"); err != nil {
		return nil, nil, nil, err
	}
	if ck.Optimizer != nil {
		if err := checkpoint.CheckFinite(ck.Optimizer, filepath.Join(dir, checkpoint.OptimizerFile), "optimizer state",
			"starting from it would poison the weights: use an earlier checkpoint (its step directory)"); err != nil {
			return nil, nil, nil, err
		}
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := attachForCheckpoint(m, cfg, ck.Model); err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := SetModelTensors(m, ck.Model, file); err != nil {
		return nil, nil, nil, err
	}
	return cfg, m, ck, nil
}

// ImportHF converts a HuggingFace Mixtral/Llama directory into a step-0
// checkpoint under runDir (model weights and config, no optimizer state) and
// returns its step directory. The weights are checked against the model the
// config describes before anything is written.
func ImportHF(hfDir, runDir string) (string, error) {
	cfg, tensors, err := checkpoint.ImportHF(hfDir)
	if err != nil {
		return "", err
	}
	m, err := NewModel(cfg)
	if err != nil {
		return "", err
	}
	if err := SetModelTensors(m, tensors, hfDir); err != nil {
		return "", fmt.Errorf("import hf: %w", err)
	}
	y, err := cfg.YAML()
	if err != nil {
		return "", err
	}
	return checkpoint.Save(runDir, 0, &checkpoint.Checkpoint{Model: ModelTensors(m), Config: string(y)})
}
