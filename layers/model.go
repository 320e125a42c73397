package layers

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Config describes a decoder-only transformer whose FFNs are dense SwiGLU MLPs
// or MoE layers, chosen per layer.
type Config struct {
	Vocab         int
	DModel        int
	Layers        int
	Heads         int
	KVHeads       int
	FFNHidden     int // dense MLP hidden width
	MaxSeqLen     int
	RopeTheta     float64
	NormEps       float64
	TieEmbeddings bool
	InitStd       float64
	// MoELayers[i] says whether layer i is an MoE layer; nil means all dense.
	MoELayers []bool
	// Experts[i] is layer i's expert count (ignored on dense layers).
	Experts       []int
	ExpertFFN     int // F, independent of FFNHidden (fine-grained experts)
	SharedExperts int
	Router        router.Config // NumExperts is overridden per layer
	Dropout       float64       // residual-branch dropout in training
	// NewDispatcher, when set, returns the dispatcher of MoE layer `layer`
	// (an expert-parallel one, say); nil gives every MoE layer a
	// LocalDispatcher. It is called once per MoE layer by New.
	NewDispatcher func(layer int) Dispatcher
}

// Model is embeddings, blocks, final norm and LM head.
type Model struct {
	Cfg    Config
	Embed  *Embedding
	Blocks []*Block
	Norm   *RMSNorm
	Head   *Linear // nil when tied to Embed
	params []*autograd.Tensor
	lora   *loraState // attached adapters (AttachLoRA); nil without
}

// New builds a model with seeded, reproducible initialisation: weights
// N(0, InitStd²), output projections (attention o_proj, MLP w2) scaled by
// 1/sqrt(2*Layers), norms at one.
func New(cfg Config, dt autograd.DType, seed uint64) (*Model, error) {
	if cfg.InitStd == 0 {
		cfg.InitStd = 0.02
	}
	if cfg.MoELayers != nil && len(cfg.MoELayers) != cfg.Layers {
		return nil, fmt.Errorf("layers.New: %d MoE layer flags for %d layers", len(cfg.MoELayers), cfg.Layers)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d6f65))
	std, outStd := cfg.InitStd, cfg.InitStd/math.Sqrt(2*float64(cfg.Layers))
	m := &Model{Cfg: cfg, Embed: NewEmbedding(dt, "embed_tokens", cfg.Vocab, cfg.DModel, std, rng)}
	for i := 0; i < cfg.Layers; i++ {
		name := fmt.Sprintf("layers.%d", i)
		blk := &Block{
			AttnNorm: NewRMSNorm(dt, name+".input_layernorm", cfg.DModel, cfg.NormEps),
			Attn:     NewAttention(dt, name+".self_attn", cfg.DModel, cfg.Heads, cfg.KVHeads, cfg.RopeTheta, std, outStd, rng),
			FFNNorm:  NewRMSNorm(dt, name+".post_attention_layernorm", cfg.DModel, cfg.NormEps),
			Dropout:  cfg.Dropout,
		}
		if cfg.MoELayers != nil && cfg.MoELayers[i] {
			rc := cfg.Router
			rc.NumExperts = cfg.Experts[i]
			moe, err := NewMoE(dt, name+".moe", MoEConfig{Router: rc, DModel: cfg.DModel, ExpertFFN: cfg.ExpertFFN, SharedExperts: cfg.SharedExperts}, std, outStd, rng)
			if err != nil {
				return nil, err
			}
			if cfg.NewDispatcher != nil {
				if moe.Dispatcher = cfg.NewDispatcher(i); moe.Dispatcher == nil {
					return nil, fmt.Errorf("layers.New: NewDispatcher returned nil for MoE layer %d", i)
				}
			}
			blk.MoE = moe
		} else {
			blk.MLP = NewMLP(dt, name+".mlp", cfg.DModel, cfg.FFNHidden, std, outStd, rng)
		}
		m.Blocks = append(m.Blocks, blk)
	}
	m.Norm = NewRMSNorm(dt, "norm", cfg.DModel, cfg.NormEps)
	if !cfg.TieEmbeddings {
		m.Head = NewLinear(dt, "lm_head", cfg.DModel, cfg.Vocab, std, rng)
	}
	m.params = append(m.params, m.Embed.Params()...)
	for _, blk := range m.Blocks {
		m.params = append(m.params, blk.Params()...)
	}
	m.params = append(m.params, m.Norm.Params()...)
	if m.Head != nil {
		m.params = append(m.params, m.Head.Params()...)
	}
	return m, nil
}

// Params returns every parameter, trainable or frozen (see Trainable), in a
// fixed order: what a model checkpoint holds.
func (m *Model) Params() []*autograd.Tensor { return m.params }

// NumParams returns the total parameter count.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.Len()
	}
	return n
}

// Forward options.
type ForwardOptions struct {
	Training bool       // router jitter/noise and dropout on
	RNG      *rand.Rand // randomness for training-time routing and dropout; nil when not training
	Cache    []*KVCache // one per layer for generation; nil otherwise
}

// Output is what one forward pass returns.
type Output struct {
	Logits   *autograd.Tensor  // [N, V]
	Routings []*router.Routing // one per MoE layer, in layer order
	MoELayer []int             // layer index of each routing
}

// Forward runs tokens [B*T] (row-major, B sequences of T) through the model.
func (m *Model) Forward(tp *autograd.Tape, tokens []int32, b, t int, opt ForwardOptions) *Output {
	out := &Output{}
	x := m.Embed.Forward(tp, tokens) // [N, D]
	for i, blk := range m.Blocks {
		var cache *KVCache
		if opt.Cache != nil {
			cache = opt.Cache[i]
		}
		var rt *router.Routing
		x, rt = blk.Forward(tp, x, b, t, cache, opt.Training, opt.RNG)
		if rt != nil {
			out.Routings = append(out.Routings, rt)
			out.MoELayer = append(out.MoELayer, i)
		}
	}
	x = m.Norm.Forward(tp, x)
	if m.Head != nil {
		out.Logits = m.Head.Forward(tp, x)
	} else {
		out.Logits = tp.MatMul(x, m.Embed.Table, false, true) // [N, V]
	}
	return out
}

// NewCaches returns empty KV caches, one per layer, for generation.
func (m *Model) NewCaches() []*KVCache {
	cs := make([]*KVCache, len(m.Blocks))
	for i := range cs {
		cs[i] = &KVCache{}
	}
	return cs
}
