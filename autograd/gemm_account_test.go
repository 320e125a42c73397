package autograd

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

func TestGEMMAccounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := ToFloat32(RandN(rng, 1, 64, 48)), ToFloat32(RandN(rng, 1, 48, 80))
	tp := NewNoGradTape()
	DefaultEngine().StartGEMMAccounting()
	tp.MatMul(a, b, false, false)
	tp.MatMul(a, b, false, false)
	got := DefaultEngine().StopGEMMAccounting()
	if got.Calls != 2 || got.FLOPs != 2*2*64*48*80 || got.Time <= 0 || got.GFLOPsPerCore() <= 0 {
		t.Fatalf("account %+v after two 64x48x80 GEMMs", got)
	}
	tp.MatMul(a, b, false, false)
	if again := DefaultEngine().StopGEMMAccounting(); again.Calls != 2 {
		t.Fatalf("a GEMM after Stop was counted: %+v", again)
	}
	DefaultEngine().StartGEMMAccounting()
	if fresh := DefaultEngine().StopGEMMAccounting(); fresh.Calls != 0 || fresh.FLOPs != 0 || fresh.Time != 0 {
		t.Fatalf("Start did not clear the totals: %+v", fresh)
	}
}

// Measuring the machine changes no process-wide setting: the BLAS keeps one
// thread per call, which every engine's split relies on.
func TestPeaksLeaveBLASThreadsAlone(t *testing.T) {
	if n := BLASThreads(); n != 1 {
		t.Fatalf("BLAS threads %d at start-up, want 1", n)
	}
	e := NewEngine(EngineOptions{Cores: 2})
	defer e.Close()
	done := make(chan struct{})
	seen := make(chan int, 1)
	go func() { // watch the setting while the peaks are measured
		most := 1
		for {
			select {
			case <-done:
				seen <- most
				return
			default:
				most = max(most, BLASThreads())
			}
		}
	}()
	e.GEMMPeak(context.Background(), 64, 20*time.Millisecond)
	e.FMAPeak(context.Background(), 5*time.Millisecond)
	close(done)
	if n := <-seen; n != 1 {
		t.Fatalf("BLAS threads reached %d while the peaks were measured, want 1 throughout", n)
	}
	SetBLASThreads(2)
	defer SetBLASThreads(1)
	if n := BLASThreads(); BLASBackend() == "openblas" && n != 2 {
		t.Fatalf("BLASThreads %d after SetBLASThreads(2): the getter does not read the BLAS", n)
	}
}

func TestGEMMPeakMeasuresSomething(t *testing.T) {
	if p := DefaultEngine().GEMMPeak(context.Background(), 64, 5*time.Millisecond); !(p > 0) {
		t.Fatalf("GEMM peak %v GFLOP/s", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p := DefaultEngine().GEMMPeak(ctx, 64, time.Hour); !(p > 0) { // a cancelled context stops at once
		t.Fatalf("GEMM peak %v GFLOP/s with a cancelled context", p)
	}
}
