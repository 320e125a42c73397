package configs

// RouterType is moe.router.type: how router logits become expert scores.
type RouterType string

// Router types.
const (
	// RouterTopKSoftmax scores experts with a softmax (Switch, Mixtral, OLMoE).
	RouterTopKSoftmax RouterType = "topk_softmax"
	// RouterSigmoid scores each expert with a sigmoid and normalises the K chosen weights (DeepSeek-V3).
	RouterSigmoid RouterType = "sigmoid"
	// RouterNoisyTopK adds Gaussian noise to the logits in training before top-k (Shazeer et al. 2017).
	RouterNoisyTopK RouterType = "noisy_topk"
)

// LoadBalancing is moe.load_balancing_type: which auxiliary loss balances expert load.
type LoadBalancing string

// Load-balancing losses.
const (
	// LoadBalancingAux is the Switch-style loss over all tokens of the batch.
	LoadBalancingAux LoadBalancing = "aux_loss"
	// LoadBalancingSeqAux is the same loss computed per sequence and averaged (DeepSeek-V3).
	LoadBalancingSeqAux LoadBalancing = "seq_aux_loss"
	// LoadBalancingNone adds no balancing loss (use with moe.router.expert_bias for bias-based balancing).
	LoadBalancingNone LoadBalancing = "none"
)

// Schedule is train.schedule: the learning-rate decay after warmup.
type Schedule string

// Learning-rate schedules.
const (
	ScheduleCosine   Schedule = "cosine"   // cosine decay from lr to min_lr
	ScheduleLinear   Schedule = "linear"   // linear decay from lr to min_lr
	ScheduleConstant Schedule = "constant" // lr after warmup, no decay
)

// Precision is train.precision: the compute precision of the forward and backward passes.
type Precision string

// Precisions.
const (
	PrecisionFP32 Precision = "fp32" // float32 everywhere
	PrecisionBF16 Precision = "bf16" // bfloat16 matmuls; router, softmax, norms and losses stay float32
)

// DataFormat is data.format: how data.path is read.
type DataFormat string

// Data formats.
const (
	FormatAuto    DataFormat = "auto"    // chosen from the file extension
	FormatText    DataFormat = "text"    // plain UTF-8 text
	FormatJSONL   DataFormat = "jsonl"   // one JSON object per line, text in data.text_field
	FormatParquet DataFormat = "parquet" // Parquet, text in column data.text_field
	FormatArrow   DataFormat = "arrow"   // Arrow IPC, text in column data.text_field
	FormatShards  DataFormat = "shards"  // pre-tokenized shards written by moetrain
)

// ByteTokenizer is the data.tokenizer value for the built-in byte-level tokenizer (256 ids).
const ByteTokenizer = "byte"

// Backend is parallel.backend: which collective-communication engine connects the ranks.
type Backend string

// Backends.
const (
	BackendLocal Backend = "local" // ranks are goroutines in one process
	BackendMPI   Backend = "mpi"   // ranks are processes launched by mpirun (build tag mpi)
)

// UpcycleMethod is upcycle.method: how the routed experts start from the dense FFN.
type UpcycleMethod string

// Upcycling methods.
const (
	// UpcycleCopy makes every routed expert a copy of the dense FFN (sparse upcycling).
	UpcycleCopy UpcycleMethod = "copy"
	// UpcycleGranular splits the FFN's hidden dimension into upcycle.granularity shards, one per expert.
	UpcycleGranular UpcycleMethod = "granular"
	// UpcycleDrop copies the FFN, then re-initialises a fraction upcycle.drop_ratio of each expert's neurons.
	UpcycleDrop UpcycleMethod = "drop"
	// UpcycleBTX takes the experts from several dense sources and averages their other weights (Branch-Train-MiX).
	UpcycleBTX UpcycleMethod = "btx"
)

// LoRAInit is lora.init: how each adapter's A matrix starts (B always starts at zero).
type LoRAInit string

// LoRA initialisations.
const (
	// LoRAInitKaiming draws A from Kaiming-uniform, U(-1/sqrt(In), 1/sqrt(In)).
	LoRAInitKaiming LoRAInit = "kaiming"
	// LoRAInitGaussian draws A from N(0, (1/R)^2).
	LoRAInitGaussian LoRAInit = "gaussian"
)

// LoRATargets returns every name lora.targets accepts, in model order: the attention projections,
// the router gate, the routed experts' w1 (gate), w3 (up) and w2 (down), and the dense MLPs' and
// shared experts' gate_proj, up_proj and down_proj. It is the list package layers adapts
// (layers.LoRATargets); configs keeps its own copy so that it needs no model code, and a test in
// package train checks that the two agree.
func LoRATargets() []string {
	return []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate", "w1", "w3", "w2", "gate_proj", "up_proj", "down_proj"}
}

// enumValues lists the accepted values of every enumerated key, in the order they are documented.
var enumValues = map[string][]string{
	"moe.router.type":         {string(RouterTopKSoftmax), string(RouterSigmoid), string(RouterNoisyTopK)},
	"moe.load_balancing_type": {string(LoadBalancingAux), string(LoadBalancingSeqAux), string(LoadBalancingNone)},
	"train.schedule":          {string(ScheduleCosine), string(ScheduleLinear), string(ScheduleConstant)},
	"train.precision":         {string(PrecisionFP32), string(PrecisionBF16)},
	"data.format": {string(FormatAuto), string(FormatText), string(FormatJSONL), string(FormatParquet),
		string(FormatArrow), string(FormatShards)},
	"parallel.backend": {string(BackendLocal), string(BackendMPI)},
	"upcycle.method":   {string(UpcycleCopy), string(UpcycleGranular), string(UpcycleDrop), string(UpcycleBTX)},
	"lora.init":        {string(LoRAInitKaiming), string(LoRAInitGaussian)},
}
