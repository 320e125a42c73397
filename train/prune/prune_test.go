package prune

// Mutations caught (each tried):
//   - prune.go copyRowsOf: taking rows 0..P-1 instead of the kept ones
//     makes TestPrunedEqualsMasked fail in every case.
//   - prune.go Apply: not cutting the expert bias (zeros in the pruned
//     router) makes the sigmoid_bias case fail.
//   - prune.go PrunedConfig: leaving moe.top_k at K when fewer experts are
//     kept makes TestPrunedConfig and the keep_1 case fail (the pruned
//     configuration no longer validates).
//   - prune.go Apply: not marking the router and expert tensors for cutting
//     fails every test that prunes on the shapes.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// withMasks runs f with every MoE layer i of m routing through its router
// masked to keep[i], and restores the routers.
func withMasks(t *testing.T, m *layers.Model, keep [][]int, f func()) {
	t.Helper()
	for i, blk := range m.Blocks {
		if blk.MoE == nil {
			continue
		}
		full := blk.MoE.Router
		masked, err := full.Masked(keep[i])
		if err != nil {
			t.Fatal(err)
		}
		blk.MoE.Router = masked
		defer func() { blk.MoE.Router = full }()
	}
	f()
}

// TestPrunedEqualsMasked: the pruned model (router rows deleted, expert
// stacks cut) computes the full model's logits with the dropped experts'
// router logits masked, to 1e-6 in float64, for each router type.
func TestPrunedEqualsMasked(t *testing.T) {
	cases := []struct {
		name string
		mut  func(c *configs.Config)
		keep [][]int
	}{
		{"topk_softmax_normalize", nil, [][]int{{0, 2, 3}, {1, 2, 3}}},
		{"topk_softmax_raw", func(c *configs.Config) { c.MoE.Router.Normalize = false }, [][]int{{1, 2}, {1, 3}}},
		{"topk_softmax_keep_1", nil, [][]int{{2}, {0}}},
		{"sigmoid_bias", func(c *configs.Config) {
			c.MoE.Router.Type, c.MoE.Router.ExpertBias = configs.RouterSigmoid, true
		}, [][]int{{0, 1, 3}, {0, 2, 3}}},
		{"noisy_topk", func(c *configs.Config) { c.MoE.Router.Type = configs.RouterNoisyTopK }, [][]int{{1, 2, 3}, {0, 1, 3}}},
		{"hybrid_shared_capacity", func(c *configs.Config) {
			c.Model.NLayers, c.MoE.LayerFreq = 3, configs.EveryLayer(2)
			c.MoE.SharedExperts, c.MoE.CapacityFactor = 1, 1
		}, [][]int{{0, 1, 3}, nil, {1, 2, 3}}},
	}
	const b, tl = 2, 12
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := smallConfig(t, tc.mut)
			m := model64(t, c, 5)
			rng := rand.New(rand.NewPCG(2, 2))
			for _, blk := range m.Blocks {
				if blk.MoE != nil && c.MoE.Router.ExpertBias {
					bias := make([]float32, blk.MoE.Experts.Count())
					for e := range bias {
						bias[e] = float32(rng.NormFloat64())
					}
					if err := blk.MoE.Router.SetBias(bias); err != nil {
						t.Fatal(err)
					}
				}
			}
			p := len(tc.keep[0])
			pc, err := PrunedConfig(c, p)
			if err != nil {
				t.Fatal(err)
			}
			tokens := randomTokens(b*tl, c.Model.VocabSize, 4)
			full := logits(m, tokens, b, tl)
			pruned, err := Apply(pc, m, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			var masked []float64
			withMasks(t, m, tc.keep, func() { masked = logits(m, tokens, b, tl) })
			if d := maxDiff(logits(pruned, tokens, b, tl), masked); d > 1e-6 {
				t.Errorf("pruned and masked logits differ by %g", d)
			}
			if d := maxDiff(full, masked); d < 1e-3 {
				t.Errorf("masking changed the logits by only %g: the case tests nothing", d)
			}
			if d := maxDiff(full, logits(m, tokens, b, tl)); d != 0 {
				t.Errorf("pruning changed the model it pruned: logits moved by %g", d)
			}
		})
	}
}

// TestApplyLayout: kept experts' weights land in ascending order, the
// router rows with them, and everything else is copied unchanged.
func TestApplyLayout(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) { c.MoE.SharedExperts = 1; c.MoE.Router.ExpertBias = true })
	m := model64(t, c, 3)
	if err := m.Blocks[0].MoE.Router.SetBias([]float32{0.5, 1.5, 2.5, 3.5}); err != nil {
		t.Fatal(err)
	}
	keep := [][]int{{1, 3}, {0, 2}}
	pc, err := PrunedConfig(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := Apply(pc, m, keep)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string][]float64{}
	for _, p := range m.Params() {
		old[p.Name] = slices.Clone(p.F64())
	}
	for _, q := range pm.Params() {
		src := old[q.Name]
		layer := -1
		for i := range m.Blocks {
			if strings.HasPrefix(q.Name, fmt.Sprintf("layers.%d.moe.", i)) && !strings.Contains(q.Name, "shared_experts") {
				layer = i
			}
		}
		if layer < 0 {
			if !slices.Equal(q.F64(), src) {
				t.Errorf("%s was not copied unchanged", q.Name)
			}
			continue
		}
		row := len(src) / 4
		for j, e := range keep[layer] {
			if !slices.Equal(q.F64()[j*row:(j+1)*row], src[e*row:(e+1)*row]) {
				t.Errorf("%s: row %d is not the old row %d", q.Name, j, e)
			}
		}
	}
	if got := pm.Blocks[0].MoE.Router.Bias(); !slices.Equal(got, []float32{1.5, 3.5}) {
		t.Errorf("layer 0 expert bias %v, want [1.5 3.5]", got)
	}
	if got := pm.Blocks[0].MoE.Router.Config(); got.NumExperts != 2 || got.TopK != 2 {
		t.Errorf("pruned router config %+v, want 2 experts, top-2", got)
	}
	// Writing to the pruned model leaves the model alone.
	w1, row := m.Blocks[0].MoE.Experts.W1, m.Blocks[0].MoE.Experts.W1.Len()/4
	pm.Blocks[0].MoE.Experts.W1.Set(0, 42) // kept expert 1's first weight
	if w1.At(row) == 42 {
		t.Error("the pruned model shares its expert weights with the model")
	}
}

// TestPrunedConfig: the expert count, top_k and the keys that depend on the
// expert count.
func TestPrunedConfig(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) {
		c.MoE.NumExperts, c.MoE.TopK = configs.Experts(8), 4
		c.Upcycle.Method, c.Upcycle.Granularity = configs.UpcycleGranular, 4
		c.Parallel.WorldSize, c.Parallel.ExpertParallel = 4, 4
	})
	pc, err := PrunedConfig(c, 6)
	if err != nil {
		t.Fatal(err)
	}
	if pc.MoE.NumExperts.String() != "6" || pc.MoE.TopK != 4 || pc.Upcycle.Granularity != 1 || pc.Parallel.ExpertParallel != 2 {
		t.Errorf("pruned to 6: num_experts %s, top_k %d, granularity %d, expert_parallel %d; want 6, 4, 1, 2",
			pc.MoE.NumExperts, pc.MoE.TopK, pc.Upcycle.Granularity, pc.Parallel.ExpertParallel)
	}
	if c.MoE.NumExperts.String() != "8" || c.Upcycle.Granularity != 4 {
		t.Error("PrunedConfig changed its input")
	}
	pc, err = PrunedConfig(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	if pc.MoE.TopK != 2 {
		t.Errorf("pruned to 2 of top-4: top_k %d, want 2", pc.MoE.TopK)
	}
	// A hybrid stack with a per-layer list keeps its layout.
	h := smallConfig(t, func(c *configs.Config) {
		c.Model.NLayers, c.MoE.LayerFreq, c.MoE.NumExperts = 4, configs.LayerPattern(false, true, false, true), configs.ExpertsPerLayer(4, 6)
	})
	pc, err = PrunedConfig(h, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pc.MoELayers(), h.MoELayers()) || pc.ExpertsForLayer(1) != 3 || pc.ExpertsForLayer(3) != 3 {
		t.Errorf("hybrid pruned to 3: MoE layers %v, experts %d and %d", pc.MoELayers(), pc.ExpertsForLayer(1), pc.ExpertsForLayer(3))
	}
}

// TestPrunedRouterIsRouter: the pruned layer's router is an ordinary
// router of P experts (used by training: UpdateBias and Route).
func TestPrunedRouterIsRouter(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) { c.MoE.Router.ExpertBias = true })
	pc, err := PrunedConfig(c, 3)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := Apply(pc, model64(t, c, 1), [][]int{{0, 1, 2}, {1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	var r *router.Router = pm.Blocks[1].MoE.Router
	r.UpdateBias([]int{5, 0, 1})
	if b := r.Bias(); len(b) != 3 || !(b[1] > b[0]) {
		t.Errorf("pruned router bias after an update: %v", b)
	}
}
