package router

import (
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// What this test catches (mutations of adapter.go and router.go tried, and
// the test that failed):
//   - Route not adding the adapter's term: TestGateAdapterAddsToLogits.
//   - SetGateAdapter(nil) not removing it: TestGateAdapterAddsToLogits.
//   - the adapter given the input before jitter: TestGateAdapterAddsToLogits.

// shiftAdapter adds x · w^T: a full-rank stand-in for a low-rank adapter,
// which also records the input it saw.
type shiftAdapter struct {
	w    *autograd.Tensor // [E, D]
	seen *autograd.Tensor
}

func (a *shiftAdapter) Delta(tp *autograd.Tape, x *autograd.Tensor, _ bool, _ *rand.Rand) *autograd.Tensor {
	a.seen = x
	return tp.MatMul(x, a.w, false, true)
}

func TestGateAdapterAddsToLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := Config{NumExperts: 4, TopK: 2, Type: TopKSoftmax, Normalize: true, JitterEps: 0.1}
	r, err := NewWithDType(cfg, autograd.Float64, 3, 1, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.RandN(rng, 1, 5, 3)
	tp := autograd.NewNoGradTape()
	base := r.Route(tp, x, false, nil).Logits
	ad := &shiftAdapter{w: autograd.RandN(rng, 1, 4, 3)}
	r.SetGateAdapter(ad)
	got := r.Route(tp, x, false, nil).Logits
	delta := tp.MatMul(x, ad.w, false, true)
	for i := range got.Len() {
		if want := base.At(i) + delta.At(i); got.At(i) != want {
			t.Fatalf("logit %d = %v, want base %v + adapter %v", i, got.At(i), base.At(i), delta.At(i))
		}
	}
	// In training the adapter sees the jittered input, as the gate does.
	r.Route(tp, x, true, rand.New(rand.NewPCG(5, 6)))
	if ad.seen == x {
		t.Fatal("the adapter saw the input before jitter")
	}
	if r.GateAdapter() == nil {
		t.Fatal("GateAdapter lost the adapter")
	}
	r.SetGateAdapter(nil)
	again := r.Route(tp, x, false, nil).Logits
	for i := range again.Len() {
		if again.At(i) != base.At(i) {
			t.Fatalf("after SetGateAdapter(nil) logit %d = %v, want %v", i, again.At(i), base.At(i))
		}
	}
}
