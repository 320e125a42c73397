package configs

// Config is a complete, typed moetrain configuration. Its yaml tags are the configuration keys
// (model.d_model, moe.router.type, ...). Build one with Default, Load or FromYAML; check a hand-built
// one with Validate.
type Config struct {
	Model    ModelConfig    `yaml:"model"`
	MoE      MoEConfig      `yaml:"moe"`
	Train    TrainConfig    `yaml:"train"`
	Data     DataConfig     `yaml:"data"`
	Parallel ParallelConfig `yaml:"parallel"`
	Upcycle  UpcycleConfig  `yaml:"upcycle"`
	LoRA     LoRAConfig     `yaml:"lora"`
}

// ModelConfig is the transformer's shape: the keys under model.
type ModelConfig struct {
	VocabSize     int     `yaml:"vocab_size"`      // V: token ids are in [0, V)
	DModel        int     `yaml:"d_model"`         // D: residual stream width
	NLayers       int     `yaml:"n_layers"`        // number of transformer blocks
	NHeads        int     `yaml:"n_heads"`         // H: query heads; Dh = D / H
	NKVHeads      int     `yaml:"n_kv_heads"`      // key/value heads (GQA); divides H, equal to H for MHA
	FFNHiddenSize int     `yaml:"ffn_hidden_size"` // hidden width of the dense SwiGLU MLP on dense layers
	MaxSeqLen     int     `yaml:"max_seq_len"`     // longest sequence the model is built for
	RopeTheta     float64 `yaml:"rope_theta"`      // RoPE base frequency
	NormEps       float64 `yaml:"norm_eps"`        // RMSNorm epsilon
	TieEmbeddings bool    `yaml:"tie_embeddings"`  // share the embedding table with the LM head
	InitStd       float64 `yaml:"init_std"`        // standard deviation of the normal weight initialisation
}

// HeadDim is Dh = DModel / NHeads.
func (m ModelConfig) HeadDim() int {
	if m.NHeads == 0 {
		return 0
	}
	return m.DModel / m.NHeads
}

// MoEConfig describes the Mixture-of-Experts layers: the keys under moe.
type MoEConfig struct {
	NumExperts          ExpertCount   `yaml:"num_experts"`            // E per MoE layer: an int or a list, one per MoE layer; 0 = dense model
	TopK                int           `yaml:"top_k"`                  // K: experts per token
	LayerFreq           LayerFreq     `yaml:"layer_freq"`             // which layers are MoE: an int N (i % N == 0) or a 0/1 list per layer
	ExpertFFNHiddenSize int           `yaml:"expert_ffn_hidden_size"` // F: hidden width of each routed expert
	SharedExperts       int           `yaml:"shared_experts"`         // experts every token passes through, beside the routed ones
	CapacityFactor      float64       `yaml:"capacity_factor"`        // tokens per expert cap = factor * N * K / E; 0 = dropless
	AuxLossCoeff        float64       `yaml:"aux_loss_coeff"`         // weight of the load-balancing loss
	ZLossCoeff          float64       `yaml:"z_loss_coeff"`           // weight of the router z-loss
	LoadBalancingType   LoadBalancing `yaml:"load_balancing_type"`    // which load-balancing loss
	Router              RouterConfig  `yaml:"router"`
}

// RouterConfig is how tokens pick experts: the keys under moe.router.
type RouterConfig struct {
	Type           RouterType `yaml:"type"`             // scoring function
	PreSoftmax     bool       `yaml:"pre_softmax"`      // topk_softmax only: top-k on the logits, then softmax over the K chosen (else softmax over all E, then top-k)
	JitterEps      float64    `yaml:"jitter_eps"`       // multiplicative input jitter in [1-eps, 1+eps] during training; 0 = off
	ExpertBias     bool       `yaml:"expert_bias"`      // per-expert selection bias updated from load (auxiliary-loss-free balancing)
	BiasUpdateRate float64    `yaml:"bias_update_rate"` // step size of the expert bias update
	NoiseStd       float64    `yaml:"noise_std"`        // noisy_topk: scale of the Gaussian noise added to logits during training
	Normalize      bool       `yaml:"normalize"`        // renormalise the K routing weights of a token to sum to 1; false only for topk_softmax without pre_softmax
}

// TrainConfig is the optimisation loop: the keys under train.
type TrainConfig struct {
	Steps           int       `yaml:"steps"`             // optimizer steps
	MicroBatchSize  int       `yaml:"micro_batch_size"`  // B: sequences per forward/backward pass
	GradAccumSteps  int       `yaml:"grad_accum_steps"`  // micro-batches each rank accumulates per optimizer step; not read when global_batch_size is set
	GlobalBatchSize int       `yaml:"global_batch_size"` // sequences per optimizer step over all ranks; 0 = micro_batch_size x world_size x grad_accum_steps
	SeqLen          int       `yaml:"seq_len"`           // T: tokens per training sequence
	LR              float64   `yaml:"lr"`                // peak learning rate
	MinLR           float64   `yaml:"min_lr"`            // learning rate at the end of the decay
	WarmupSteps     int       `yaml:"warmup_steps"`      // linear warmup from 0 to LR; at or above Steps the trainer warms up over Steps/10
	Schedule        Schedule  `yaml:"schedule"`          // decay after warmup
	WeightDecay     float64   `yaml:"weight_decay"`      // AdamW decoupled weight decay
	GradClip        float64   `yaml:"grad_clip"`         // global gradient-norm clip; 0 = off
	Seed            int64     `yaml:"seed"`              // seed of initialisation, data order, dropout and router noise
	Precision       Precision `yaml:"precision"`         // compute precision; master weights stay float32; only fp32 runs (CheckRunnable)
	LogEvery        int       `yaml:"log_every"`         // steps between log lines
	EvalEvery       int       `yaml:"eval_every"`        // steps between evaluations; 0 = never
	EvalBatches     int       `yaml:"eval_batches"`      // micro-batches per evaluation
	CheckpointEvery int       `yaml:"checkpoint_every"`  // steps between checkpoints; 0 = only at the end
	KeepLast        int       `yaml:"keep_last"`         // checkpoints kept on disk
	AsyncSave       bool      `yaml:"async_save"`        // write checkpoints in the background from an in-memory snapshot while training goes on
	Beta1           float64   `yaml:"beta1"`             // AdamW first-moment decay
	Beta2           float64   `yaml:"beta2"`             // AdamW second-moment decay
	Eps             float64   `yaml:"eps"`               // AdamW epsilon
	Dropout         float64   `yaml:"dropout"`           // dropout probability on residual branches
}

// DataConfig is where tokens come from: the keys under data.
type DataConfig struct {
	Path        string     `yaml:"path"`         // file, directory or glob; "" = the embedded corpus
	Format      DataFormat `yaml:"format"`       // how to read Path
	Tokenizer   string     `yaml:"tokenizer"`    // "byte" or the path of a tokenizer.json
	TextField   string     `yaml:"text_field"`   // column or JSON field holding the text
	ValFraction float64    `yaml:"val_fraction"` // share of the data held out for evaluation
}

// ParallelConfig is how the work is spread over ranks: the keys under parallel.
type ParallelConfig struct {
	Backend        Backend `yaml:"backend"`         // collective-communication backend
	WorldSize      int     `yaml:"world_size"`      // total ranks
	ExpertParallel int     `yaml:"expert_parallel"` // ranks sharing one copy of the experts (EP group size); 1 = off
	Timeout        float64 `yaml:"timeout"`         // seconds a collective may wait for a peer before the run stops with an error naming it
}

// UpcycleConfig is how `moetrain upcycle` turns a dense model into this configuration's MoE model:
// the keys under upcycle. Only the upcycle path reads them; every other command ignores them.
type UpcycleConfig struct {
	Method         UpcycleMethod `yaml:"method"`           // how the experts start from the dense FFN
	Granularity    int           `yaml:"granularity"`      // G: granular splits the FFN into G shards of F/G; 1 for the other methods
	RouterInitStd  float64       `yaml:"router_init_std"`  // new router rows ~ N(0, std^2)
	DropRatio      float64       `yaml:"drop_ratio"`       // drop: fraction of each expert's intermediate neurons re-initialised
	SharedExpert   bool          `yaml:"shared_expert"`    // keep a copy of the dense FFN as an always-on shared expert
	CarryOptimizer bool          `yaml:"carry_optimizer"`  // start the experts' AdamW moments from the dense FFN's, when the source has them
	NoiseStd       float64       `yaml:"noise_std"`        // std of the Gaussian noise added to the routed expert copies; 0 = none
	AllowMoESource bool          `yaml:"allow_moe_source"` // accept a source with MoE layers: they are kept, its dense layers upcycled
}

// LoRAConfig is the low-rank adapters `moetrain finetune --lora` attaches: the keys under lora. For
// every adapted weight W [Out, In] the layer computes W x + s·B(A x) with A [R, In] and B [Out, R].
// Only fine-tuning with --lora reads them; every other command ignores them.
type LoRAConfig struct {
	Rank    int      `yaml:"rank"`    // R: the adapters' rank
	Alpha   float64  `yaml:"alpha"`   // s = alpha/R (alpha/sqrt(R) with rslora)
	Dropout float64  `yaml:"dropout"` // dropout on each adapter's input in training, in [0, 1)
	Targets []string `yaml:"targets"` // the weights adapted, by module name (LoRATargets); a list, or one comma-separated string
	RSLoRA  bool     `yaml:"rslora"`  // rank-stabilised scale alpha/sqrt(R)
	Init    LoRAInit `yaml:"init"`    // how A starts; B starts at zero, so the adapted model starts as the base
}

// Default returns the built-in configuration: the tiny preset, a small byte-level MoE model that
// trains in about a minute on two cores. Load starts from it, so a file only needs the keys it changes.
func Default() *Config {
	return &Config{
		Model: ModelConfig{
			VocabSize:     256,
			DModel:        128,
			NLayers:       4,
			NHeads:        4,
			NKVHeads:      2,
			FFNHiddenSize: 256,
			MaxSeqLen:     128,
			RopeTheta:     10000,
			NormEps:       1e-5,
			TieEmbeddings: false,
			InitStd:       0.02,
		},
		MoE: MoEConfig{
			NumExperts:          Experts(8),
			TopK:                2,
			LayerFreq:           EveryLayer(1),
			ExpertFFNHiddenSize: 256,
			SharedExperts:       0,
			CapacityFactor:      0,
			AuxLossCoeff:        0.01,
			ZLossCoeff:          0.001,
			LoadBalancingType:   LoadBalancingAux,
			Router: RouterConfig{
				Type:           RouterTopKSoftmax,
				PreSoftmax:     false,
				JitterEps:      0,
				ExpertBias:     false,
				BiasUpdateRate: 0.001,
				NoiseStd:       1,
				Normalize:      true,
			},
		},
		Train: TrainConfig{
			Steps:           300,
			MicroBatchSize:  8,
			GradAccumSteps:  1,
			GlobalBatchSize: 0,
			SeqLen:          128,
			LR:              3e-3,
			MinLR:           3e-4,
			WarmupSteps:     30,
			Schedule:        ScheduleCosine,
			WeightDecay:     0.1,
			GradClip:        1,
			Seed:            1234,
			Precision:       PrecisionFP32,
			LogEvery:        10,
			EvalEvery:       100,
			EvalBatches:     4,
			CheckpointEvery: 100,
			KeepLast:        2,
			AsyncSave:       false,
			Beta1:           0.9,
			Beta2:           0.95,
			Eps:             1e-8,
			Dropout:         0,
		},
		Data: DataConfig{
			Path:        "",
			Format:      FormatAuto,
			Tokenizer:   ByteTokenizer,
			TextField:   "text",
			ValFraction: 0.05,
		},
		Parallel: ParallelConfig{
			Backend:        BackendLocal,
			WorldSize:      1,
			ExpertParallel: 1,
			Timeout:        300,
		},
		Upcycle: UpcycleConfig{
			Method:         UpcycleCopy,
			Granularity:    1,
			RouterInitStd:  0.02,
			DropRatio:      0.5,
			SharedExpert:   false,
			CarryOptimizer: false,
			NoiseStd:       0,
			AllowMoESource: false,
		},
		LoRA: LoRAConfig{
			Rank:    8,
			Alpha:   16,
			Dropout: 0,
			Targets: []string{"q_proj", "k_proj", "v_proj", "o_proj", "w1", "w2", "w3"},
			RSLoRA:  false,
			Init:    LoRAInitKaiming,
		},
	}
}

// AccumSteps returns the micro-batches each rank accumulates per optimizer step: derived from
// train.global_batch_size when it is set (global = micro_batch_size x world_size x accumulation),
// else train.grad_accum_steps. Valid configurations only.
func (c *Config) AccumSteps() int {
	if g := c.Train.GlobalBatchSize; g > 0 {
		return g / (c.Train.MicroBatchSize * c.Parallel.WorldSize)
	}
	return c.Train.GradAccumSteps
}

// GlobalBatch returns the sequences of one optimizer step over all ranks.
func (c *Config) GlobalBatch() int {
	return c.Train.MicroBatchSize * c.Parallel.WorldSize * c.AccumSteps()
}
