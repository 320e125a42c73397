package train

import (
	"math"
	"testing"
)

// Bench's figures hang together: throughput from the timed steps, MFU from
// the measured peak, and a GEMM account that is a share of the step.
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
	if r.PeakGFLOPs <= 0 || math.Abs(r.MFU-r.GFLOPs/r.PeakGFLOPs) > 1e-12 {
		t.Fatalf("MFU %v from %v / %v", r.MFU, r.GFLOPs, r.PeakGFLOPs)
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
