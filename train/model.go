package train

import (
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
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
// naming the key and what to use instead.
func checkSupported(c *configs.Config) error {
	if c.Train.Precision != configs.PrecisionFP32 {
		return fmt.Errorf("train.precision %q: only fp32 training is available in this version; use --set train.precision=fp32", c.Train.Precision)
	}
	if c.Parallel.WorldSize != 1 || c.Parallel.ExpertParallel != 1 || c.Parallel.Backend != configs.BackendLocal {
		return fmt.Errorf("parallel.{backend,world_size,expert_parallel} = %s,%d,%d: multi-rank training is not available in this version; use backend local, world_size 1, expert_parallel 1",
			c.Parallel.Backend, c.Parallel.WorldSize, c.Parallel.ExpertParallel)
	}
	return nil
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
// parameter plus each router's expert bias.
func ModelTensors(m *layers.Model) map[string]*autograd.Tensor {
	out := make(map[string]*autograd.Tensor, len(m.Params())+len(m.Blocks))
	for _, p := range m.Params() {
		out[p.Name] = p
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
// returns its configuration and model.
func LoadModel(ckptArg string) (*configs.Config, *layers.Model, *checkpoint.Checkpoint, error) {
	dir, err := checkpoint.Resolve(ckptArg)
	if err != nil {
		return nil, nil, nil, err
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := configs.FromYAML([]byte(ck.Config))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s: config: %w", dir, err)
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := SetModelTensors(m, ck.Model, filepath.Join(dir, checkpoint.ModelFile)); err != nil {
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
