package router

import (
	"math"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestStats(t *testing.T) {
	// Two tokens over E = 2: probs [0.5, 0.5] has entropy ln 2, [1, 0] has 0,
	// mean ln2 / 2. Loads 3 and 1: max 3, mean 2, imbalance 1.5.
	rt := &Routing{
		Probs:           autograd.FromSlice([]float64{0.5, 0.5, 1, 0}, 2, 2),
		TokensPerExpert: []int{3, 1},
		Dropped:         1,
	}
	st := rt.Stats()
	if st.MaxLoad != 3 || st.MeanLoad != 2 || st.Imbalance != 1.5 || st.Dropped != 1 || !slices.Equal(st.TokensPerExpert, []int{3, 1}) {
		t.Fatalf("stats %+v", st)
	}
	if want := math.Ln2 / 2; math.Abs(st.Entropy-want) > 1e-15 {
		t.Fatalf("entropy %v, want %v", st.Entropy, want)
	}
	st.TokensPerExpert[0] = 99
	if rt.TokensPerExpert[0] != 3 {
		t.Fatal("Stats shares the routing's slice")
	}
}
