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
