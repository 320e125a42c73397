package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
)

// BenchResult holds the figures of `moetrain bench`.
type BenchResult struct {
	Config        string  `json:"config"`
	Steps         int     `json:"steps"`
	TokensPerStep int     `json:"tokens_per_step"`
	TokensPerS    float64 `json:"tokens_per_s"`
	MsPerStep     float64 `json:"ms_per_step"`
	FLOPsPerToken float64 `json:"flops_per_token"`
	GFLOPs        float64 `json:"gflops"` // achieved model GFLOP/s
	// GEMMPeakGFLOPs is the float32 GEMM rate measured here on all cores
	// (Engine.GEMMPeak), and GEMMUtil = GFLOPs / GEMMPeakGFLOPs: the model
	// FLOPs as a fraction of that measured GEMM rate, not of the machine's
	// arithmetic peak (a GEMM reaches most, never all, of it).
	GEMMPeakGFLOPs float64 `json:"gemm_peak_gflops"`
	GEMMUtil       float64 `json:"gemm_util"`
	// FMAPeakGFLOPs is the float32 vector-FMA rate measured here on all
	// cores (Engine.FMAPeak: registers only, what no kernel can beat), and
	// MFU = GFLOPs / FMAPeakGFLOPs, the model FLOPs utilisation proper. Both
	// are 0 where the CPU has no vector FMA kernel.
	FMAPeakGFLOPs float64 `json:"fma_peak_gflops"`
	MFU           float64 `json:"mfu"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	Params        int     `json:"params"`
	GEMM          string  `json:"gemm"` // what runs float32 products (autograd.GEMMBackend)
	BLAS          string  `json:"blas"`
	Threads       int     `json:"threads"`
	// Where the step's time goes: the share of all cores' time spent inside
	// GEMMs, their rate per core, the rest of a step's wall time, and
	// the tokens/s an ideal step would reach if everything but the GEMMs
	// took no time (GEMMs as fast and as parallel as measured).
	GEMMShare           float64 `json:"gemm_share"`
	GEMMGFLOPsPerCore   float64 `json:"gemm_gflops_per_core"`
	OtherMsPerStep      float64 `json:"other_ms_per_step"`
	GEMMBoundTokensPerS float64 `json:"gemm_bound_tokens_per_s"`
	// The step's phases in wall milliseconds (summed over micro-batches):
	// forward with the loss, backward, and the optimizer (gradient norm,
	// clipping, AdamW); what is left of MsPerStep is bookkeeping.
	ForwardMsPerStep   float64 `json:"forward_ms_per_step"`
	BackwardMsPerStep  float64 `json:"backward_ms_per_step"`
	OptimizerMsPerStep float64 `json:"optimizer_ms_per_step"`
}

// randomBatches feeds uniformly random tokens: benchmarks measure compute,
// not data loading, and need no corpus.
type randomBatches struct {
	rng             *rand.Rand
	vocab           int
	inputs, targets []int32
}

func (r *randomBatches) Next() ([]int32, []int32) {
	for i := range r.inputs {
		r.inputs[i] = int32(r.rng.IntN(r.vocab))
		r.targets[i] = int32(r.rng.IntN(r.vocab))
	}
	return r.inputs, r.targets
}
func (r *randomBatches) State() ([]byte, error) { return []byte("{}"), nil }
func (r *randomBatches) Restore([]byte) error   { return nil }

// Bench times full training steps (forward, backward, optimizer) of the
// configured model on random tokens after warmup steps, and measures the
// machine's float32 GEMM and vector-FMA peaks to report the model FLOPs as
// a share of each.
func Bench(c *configs.Config, name string, warmup, steps int) (*BenchResult, error) {
	if steps < 1 || warmup < 0 {
		return nil, fmt.Errorf("bench: %d warm-up and %d timed steps; want 0 or more warm-up steps and at least 1 timed step", warmup, steps)
	}
	cc := *c
	cc.Train.Steps = warmup + steps
	cc.Train.WarmupSteps = 0
	cc.Train.LogEvery = cc.Train.Steps
	cc.Train.EvalEvery, cc.Train.CheckpointEvery = 0, 0
	bt := cc.Train.MicroBatchSize * cc.Train.SeqLen
	dir, err := os.MkdirTemp("", "moetrain-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	batches := &randomBatches{rng: rand.New(rand.NewPCG(1, 2)), vocab: cc.Model.VocabSize,
		inputs: make([]int32, bt), targets: make([]int32, bt)}
	tr, err := New(Options{Config: &cc, RunDir: dir, Train: batches})
	if err != nil {
		return nil, err
	}
	for i := 0; i < warmup; i++ {
		if _, err := tr.step1(); err != nil {
			return nil, err
		}
	}
	eng := tr.tape.Engine()
	eng.StartGEMMAccounting()
	start := time.Now()
	var fwd, bwd, opt time.Duration
	for i := 0; i < steps; i++ {
		sr, err := tr.step1()
		if err != nil {
			return nil, err
		}
		fwd, bwd, opt = fwd+sr.Forward, bwd+sr.Backward, opt+sr.Optimizer
	}
	elapsed := time.Since(start).Seconds()
	gemms := eng.StopGEMMAccounting()
	tokens := float64(steps * bt * cc.AccumSteps())
	res := &BenchResult{
		Config: name, Steps: steps, TokensPerStep: bt * cc.AccumSteps(),
		TokensPerS: tokens / elapsed, MsPerStep: elapsed * 1000 / float64(steps),
		FLOPsPerToken: FLOPsPerToken(&cc), Params: tr.Model().NumParams(),
		GEMM: autograd.GEMMBackend(), BLAS: autograd.BLASBackend(), Threads: runtime.GOMAXPROCS(0),
	}
	perStep := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(steps) }
	res.ForwardMsPerStep, res.BackwardMsPerStep, res.OptimizerMsPerStep = perStep(fwd), perStep(bwd), perStep(opt)
	res.GFLOPs = res.TokensPerS * res.FLOPsPerToken / 1e9
	res.setGEMMShare(gemms, elapsed, tokens)
	res.GEMMPeakGFLOPs = eng.GEMMPeak(context.Background(), 1024, 500*time.Millisecond)
	if res.GEMMPeakGFLOPs > 0 {
		res.GEMMUtil = res.GFLOPs / res.GEMMPeakGFLOPs
	}
	res.FMAPeakGFLOPs = eng.FMAPeak(context.Background(), 300*time.Millisecond)
	if res.FMAPeakGFLOPs > 0 {
		res.MFU = res.GFLOPs / res.FMAPeakGFLOPs
	}
	res.PeakRSSBytes = PeakRSS()
	return res, nil
}

// PeakRSS returns the process's peak resident set size in bytes (Linux
// VmHWM), or 0 where it cannot be read.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// setGEMMShare fills the GEMM figures from the account of a timed run of
// elapsed seconds that trained tokens tokens.
func (r *BenchResult) setGEMMShare(a autograd.GEMMAccount, elapsed, tokens float64) {
	if a.Time <= 0 || elapsed <= 0 {
		return
	}
	wall := a.Time.Seconds() / float64(r.Threads) // GEMM time per core
	r.GEMMShare = wall / elapsed
	r.GEMMGFLOPsPerCore = a.GFLOPsPerCore()
	r.OtherMsPerStep = (elapsed - wall) * 1000 / float64(r.Steps)
	r.GEMMBoundTokensPerS = tokens / wall
}

// String formats the result for people.
func (r *BenchResult) String() string {
	return fmt.Sprintf("%s: %.0f tokens/s, %.1f ms/step (%d tokens/step), %.1f MFLOP/token -> %.1f GFLOP/s, %.1f%% of the measured GEMM peak %.1f GFLOP/s, MFU %s, peak RSS %.0f MiB, %d params, gemm %s, blas %s, %d threads",
		r.Config, r.TokensPerS, r.MsPerStep, r.TokensPerStep, r.FLOPsPerToken/1e6, r.GFLOPs, 100*r.GEMMUtil, r.GEMMPeakGFLOPs, r.mfuText(),
		float64(r.PeakRSSBytes)/(1<<20), r.Params, r.GEMM, r.BLAS, r.Threads) +
		fmt.Sprintf("\n  forward %.1f, backward %.1f, optimizer %.1f ms/step",
			r.ForwardMsPerStep, r.BackwardMsPerStep, r.OptimizerMsPerStep) +
		fmt.Sprintf("\n  GEMMs %.0f%% of core time at %.1f GFLOP/s per core; the rest %.1f ms/step; GEMMs alone would allow %.0f tokens/s",
			100*r.GEMMShare, r.GEMMGFLOPsPerCore, r.OtherMsPerStep, r.GEMMBoundTokensPerS)
}

// mfuText is the MFU for people: a percentage of the measured FMA peak, or
// why there is none.
func (r *BenchResult) mfuText() string {
	if r.FMAPeakGFLOPs <= 0 {
		return "n/a (no vector FMA kernel for this CPU)"
	}
	return fmt.Sprintf("%.1f%% of the measured FMA peak %.1f GFLOP/s", 100*r.MFU, r.FMAPeakGFLOPs)
}
