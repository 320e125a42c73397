package router

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestStats(t *testing.T) {
	// Two tokens over E = 2: probs [0.5, 0.5] has entropy ln 2, [1, 0] has 0,
	// mean ln2 / 2. Loads 3 and 1: max 3, mean 2, imbalance 1.5.
	rt := &Routing{
		Probs:   autograd.FromSlice([]float64{0.5, 0.5, 1, 0}, 2, 2),
		Offsets: []int{0, 3, 4},
		Dropped: 1,
	}
	st := rt.Stats()
	if st.MaxLoad != 3 || st.MeanLoad != 2 || st.Imbalance != 1.5 || st.Dropped != 1 || !slices.Equal(st.TokensPerExpert, []int{3, 1}) {
		t.Fatalf("stats %+v", st)
	}
	if want := math.Ln2 / 2; math.Abs(st.Entropy-want) > 1e-15 {
		t.Fatalf("entropy %v, want %v", st.Entropy, want)
	}
	st.TokensPerExpert[0] = 99
	if rt.TokensPerExpert()[0] != 3 {
		t.Fatal("Stats shares the routing's slice")
	}
}

// The one-logarithm-per-row entropy of a live routing equals the direct
// -sum p ln p over its Probs, for every router type.
func TestStatsEntropyMatchesDirect(t *testing.T) {
	for _, typ := range []string{TopKSoftmax, Sigmoid, NoisyTopK} {
		for _, dt := range []autograd.DType{autograd.Float32, autograd.Float64} {
			cfg := DefaultConfig(6, 2)
			cfg.Type = typ
			if typ == NoisyTopK {
				cfg.NoiseStd = 1
			}
			rng := rand.New(rand.NewPCG(5, 6))
			r, err := NewWithDType(cfg, dt, 8, 0.5, rng)
			if err != nil {
				t.Fatal(err)
			}
			tp := autograd.NewNoGradTape()
			x := autograd.RandN(rng, 1, 33, 8)
			if dt == autograd.Float32 {
				x = autograd.ToFloat32(x)
			}
			rt := r.Route(tp, x, true, rng)
			if rt.base == nil {
				t.Fatalf("%v: routing has no scores", typ)
			}
			fast := rt.Stats().Entropy
			rt.base = nil
			direct := rt.Stats().Entropy
			tol := 1e-12
			if dt == autograd.Float32 {
				tol = 1e-5
			}
			if math.Abs(fast-direct) > tol || direct <= 0 {
				t.Errorf("%v %v: entropy %v, direct %v", typ, dt, fast, direct)
			}
		}
	}
}
