package train

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moetrain/moetrain/configs"
)

// MemoryEstimate is the memory one training run of a configuration needs, roughly, in bytes. It
// is computed from the configuration alone, before anything is allocated, so that a run that
// cannot fit is refused at once rather than killed by the kernel minutes later.
//
// The formula (float32 throughout, 4 bytes a value; P parameters, N = micro_batch_size × seq_len
// tokens per micro-batch, D = d_model, V = vocab_size, K = top_k, F = expert width):
//
//	Weights     = 4 P
//	Gradients   = 4 P               (0 when the weights are frozen, as under LoRA)
//	Optimizer   = 8 P               (AdamW's two moments; 0 when frozen)
//	Activations = 4 N × (Σ_layers a_l + 3 V) × 1.5
//	  a_l = 14 D + 2 Hkv·Dh         (attention: norms, q, k, v, rotations, output, residuals)
//	      + 4 Fd                    (a dense layer's SwiGLU: two projections, activation, product)
//	      + K (4 F + 3 D) + 4 E     (an MoE layer: gathered inputs, expert hidden and outputs, router)
//	      + S (4 F + 2 D)           (S shared experts)
//	  3 V per token is the logits, their softmax and their gradient; the final × 1.5 is the
//	  backward pass's gradients and the Go heap's headroom over live data.
//	Runtime     = 64 MiB            (the program, its data and the tape's bookkeeping)
//
// Attention keeps no [T, T] score matrix (it is recomputed in the backward), so nothing grows with
// the square of seq_len. Measured on a 2-core machine (peak RSS, 6 steps): the tiny preset 198 MiB
// (estimate 232 MiB), tiny with micro_batch_size 32 523 MiB (estimate 581 MiB), the small preset
// 987 MiB (estimate 1050 MiB). The estimate errs high by a little, and CheckMemory refuses only a
// run whose estimate exceeds all the memory available, so a run that fits is not refused.
type MemoryEstimate struct {
	Params      int64 // P, the model's parameters
	Weights     int64 // bytes
	Gradients   int64 // bytes
	Optimizer   int64 // bytes
	Activations int64 // bytes, for one micro-batch forward and backward
	Runtime     int64 // bytes
}

// Total is the sum of the parts, in bytes.
func (e MemoryEstimate) Total() int64 {
	return e.Weights + e.Gradients + e.Optimizer + e.Activations + e.Runtime
}

// runtimeBytes is the fixed part of MemoryEstimate.
const runtimeBytes = 64 << 20

// EstimateMemory returns the memory a full training run of c needs (every weight trained with
// AdamW). c should be valid (configs.Validate); the counts are computed in float64, so even an
// invalid one with huge sizes gives a huge estimate, never an overflow.
func EstimateMemory(c *configs.Config) MemoryEstimate {
	m, e := c.Model, c.MoE
	d, v := float64(m.DModel), float64(m.VocabSize)
	dh := 0.0
	if m.NHeads > 0 {
		dh = float64(m.DModel / m.NHeads)
	}
	kv := float64(m.NKVHeads) * dh
	f, k, s := float64(e.ExpertFFNHiddenSize), float64(e.TopK), float64(e.SharedExperts)
	params := v*d + d // embedding, final norm
	if !m.TieEmbeddings {
		params += v * d // LM head
	}
	perToken := 3 * v // logits, softmax, their gradient
	for i := range max(m.NLayers, 0) {
		params += 2*d*d + 2*d*kv + 2*d // q, o; k, v; two norms
		perToken += 14*d + 2*kv
		if n := float64(c.ExpertsForLayer(i)); n > 0 {
			params += n*3*d*f + s*3*d*f + n*d // experts, shared experts, router gate
			if e.Router.Type == configs.RouterNoisyTopK {
				params += n * d
			}
			perToken += k*(4*f+3*d) + 4*n + s*(4*f+2*d)
		} else {
			params += 3 * d * float64(m.FFNHiddenSize)
			perToken += 4 * float64(m.FFNHiddenSize)
		}
	}
	tokens := float64(c.Train.MicroBatchSize) * float64(c.Train.SeqLen)
	return MemoryEstimate{
		Params:      clampInt64(params),
		Weights:     clampInt64(4 * params),
		Gradients:   clampInt64(4 * params),
		Optimizer:   clampInt64(8 * params),
		Activations: clampInt64(4 * tokens * perToken * 1.5),
		Runtime:     runtimeBytes,
	}
}

// clampInt64 converts a non-negative count to int64, saturating far below overflow.
func clampInt64(x float64) int64 {
	const limit = 1 << 62
	if !(x < limit) {
		return limit
	}
	return int64(x)
}

// MemoryUse says what of a run's memory is already taken care of when CheckMemory is called.
type MemoryUse struct {
	Frozen bool // the base weights are frozen (LoRA): no gradients or optimizer state for them
	Loaded bool // the model is already in memory (fine-tuning, upcycling): its weights are not needed again
}

// CheckMemory refuses a run of c that cannot fit in the memory this machine has available now
// (MemAvailable of /proc/meminfo, read at each call; without it, nothing is checked). The error
// says how much the run needs, how much there is, and which keys lower the need most.
func CheckMemory(c *configs.Config, use MemoryUse) error {
	avail, ok := MemAvailable()
	if !ok {
		return nil
	}
	return checkMemoryAgainst(c, use, avail)
}

// checkMemoryAgainst is CheckMemory with the available bytes given.
func checkMemoryAgainst(c *configs.Config, use MemoryUse, avail int64) error {
	est := EstimateMemory(c)
	if use.Frozen {
		est.Gradients, est.Optimizer = 0, 0
	}
	if use.Loaded {
		est.Weights = 0
	}
	// The local backend runs every rank in this process, each with its own
	// replica (built whole before an expert-parallel rank keeps its shard).
	ranks := int64(1)
	if c.Parallel.Backend == configs.BackendLocal && c.Parallel.WorldSize > 1 {
		ranks = int64(c.Parallel.WorldSize)
	}
	need := est.Total() * ranks
	if need <= avail {
		return nil
	}
	state := est.Weights + est.Gradients + est.Optimizer
	what := fmt.Sprintf("lower train.micro_batch_size (now %d) or train.seq_len (now %d); train.grad_accum_steps keeps the tokens per step",
		c.Train.MicroBatchSize, c.Train.SeqLen)
	if state > est.Activations {
		what = fmt.Sprintf("the model's %s parameters dominate: choose a smaller model (model.d_model %d, model.n_layers %d, moe.num_experts %s, moe.expert_ffn_hidden_size %d)",
			HumanCount(est.Params), c.Model.DModel, c.Model.NLayers, c.MoE.NumExperts, c.MoE.ExpertFFNHiddenSize)
	}
	if ranks > 1 {
		what += fmt.Sprintf("; the %d ranks of parallel.world_size each hold these in this process: fewer ranks, or the mpi backend across machines, need less here", ranks)
	}
	perRank := ""
	if ranks > 1 {
		perRank = fmt.Sprintf(", for each of %d ranks", ranks)
	}
	return fmt.Errorf("this run needs about %s of memory (weights %s, gradients %s, AdamW state %s, activations of one micro-batch %s%s) but the machine has %s available; %s",
		humanBytes(need), humanBytes(est.Weights), humanBytes(est.Gradients), humanBytes(est.Optimizer), humanBytes(est.Activations), perRank,
		humanBytes(avail), what)
}

// humanBytes writes n in B, KiB, MiB, GiB, TiB or PiB.
func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	x, u := float64(n), 0
	for x >= 1024 && u < len(units)-1 {
		x /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", x, units[u])
}

// MemAvailable returns the MemAvailable line of /proc/meminfo in bytes; ok is false where the
// file or the line is missing or unreadable (not Linux, or a restricted container).
func MemAvailable() (bytes int64, ok bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMemAvailable(data)
}

// parseMemAvailable reads "MemAvailable: 123456 kB" out of meminfo text.
func parseMemAvailable(data []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, found := strings.Cut(sc.Text(), ":")
		if !found || name != "MemAvailable" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<52 {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
