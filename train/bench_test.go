package train

import (
	"math"
	"strings"
	"testing"
)

// Bench's figures hang together: throughput from the timed steps, the GEMM
// utilisation from the measured GEMM peak, the MFU from the measured FMA
// peak, and a GEMM account that is a share of the step.
func TestBenchFigures(t *testing.T) {
	c := testConfig(t)
	r, err := Bench(c, "test", 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps != 3 || r.TokensPerStep != c.Train.MicroBatchSize*c.Train.SeqLen {
		t.Fatalf("steps %d, tokens/step %d", r.Steps, r.TokensPerStep)
	}
	if r.TokensPerS <= 0 || math.Abs(r.TokensPerS*r.MsPerStep/1000-float64(r.TokensPerStep)) > 1e-6*float64(r.TokensPerStep) {
		t.Fatalf("tokens/s %v and ms/step %v disagree with %d tokens/step", r.TokensPerS, r.MsPerStep, r.TokensPerStep)
	}
	if r.GEMMPeakGFLOPs <= 0 || math.Abs(r.GEMMUtil-r.GFLOPs/r.GEMMPeakGFLOPs) > 1e-12 {
		t.Fatalf("GEMM utilisation %v from %v / %v", r.GEMMUtil, r.GFLOPs, r.GEMMPeakGFLOPs)
	}
	if s := r.String(); !strings.Contains(s, "% of the measured GEMM peak") || !strings.Contains(s, "MFU ") {
		t.Fatalf("text output names neither the GEMM utilisation nor the MFU: %s", s)
	}
	// MFU is against the vector-FMA peak, measured wherever the AVX-512
	// kernels run (the FMA loop is one of them), and 0 with no peak.
	if r.GEMM == "avx512-tiles" && r.FMAPeakGFLOPs <= 0 {
		t.Fatalf("FMA peak %v on a CPU with the AVX-512 kernels", r.FMAPeakGFLOPs)
	}
	if r.FMAPeakGFLOPs > 0 && math.Abs(r.MFU-r.GFLOPs/r.FMAPeakGFLOPs) > 1e-12 || r.FMAPeakGFLOPs <= 0 && r.MFU != 0 {
		t.Fatalf("MFU %v from %v / %v", r.MFU, r.GFLOPs, r.FMAPeakGFLOPs)
	}
	if !(r.GEMMShare > 0 && r.GEMMShare <= 1) || r.GEMMGFLOPsPerCore <= 0 {
		t.Fatalf("GEMM share %v at %v GFLOP/s per core", r.GEMMShare, r.GEMMGFLOPsPerCore)
	}
	if r.GEMMBoundTokensPerS < r.TokensPerS || r.OtherMsPerStep < 0 || r.OtherMsPerStep > r.MsPerStep {
		t.Fatalf("GEMM bound %v tokens/s, other %v of %v ms/step", r.GEMMBoundTokensPerS, r.OtherMsPerStep, r.MsPerStep)
	}
	// The phases are parts of the step: each took some time, together no
	// more than the whole.
	phases := r.ForwardMsPerStep + r.BackwardMsPerStep + r.OptimizerMsPerStep
	if r.ForwardMsPerStep <= 0 || r.BackwardMsPerStep <= 0 || r.OptimizerMsPerStep <= 0 || phases > r.MsPerStep {
		t.Fatalf("forward %v + backward %v + optimizer %v ms of a %v ms step",
			r.ForwardMsPerStep, r.BackwardMsPerStep, r.OptimizerMsPerStep, r.MsPerStep)
	}
}

// TestBenchRefusesNoSteps: no timed steps would divide by zero.
func TestBenchRefusesNoSteps(t *testing.T) {
	c := testConfig(t)
	for _, wr := range [][2]int{{1, 0}, {-1, 2}} {
		if _, err := Bench(c, "test", wr[0], wr[1]); err == nil || !strings.Contains(err.Error(), "at least 1 timed step") {
			t.Errorf("Bench(warmup %d, steps %d): %v", wr[0], wr[1], err)
		}
	}
}
