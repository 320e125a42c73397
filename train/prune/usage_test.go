package prune

// Mutations caught (each tried):
//   - usage.go mostUsed: ordering by ascending usage makes TestMostUsed and
//     TestFrequencyKeepsMostUsed fail.
//   - usage.go mostUsed: breaking ties towards the higher index (order
//     starting from the last expert) makes the keep-1 and keep-3 cases fail.
//   - usage.go addUsage: counting slots instead of summing their weights
//     makes TestAddUsage fail.
//   - usage.go calibrationBatches: dropping the last, partial batch makes
//     TestCalibrationBatches fail.

import (
	"math"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/router"
)

func TestMostUsed(t *testing.T) {
	usage := []float64{0.1, 0.4, 0.2, 0.4, 0.3}
	for p, want := range map[int][]int{1: {1}, 2: {1, 3}, 3: {1, 3, 4}, 4: {1, 2, 3, 4}} {
		if got := mostUsed(usage, p); !slices.Equal(got, want) {
			t.Errorf("mostUsed(%v, %d) = %v, want %v", usage, p, got, want)
		}
	}
}

func TestAddUsage(t *testing.T) {
	rt := &router.Routing{Expert: []int32{0, 0, 2, 3}, Weight: autograd.FromSlice([]float32{0.25, 0.5, 1, 0.75}, 4, 1)}
	usage := make([]float64, 4)
	addUsage(usage, rt)
	if want := []float64{0.75, 0, 1, 0.75}; !slices.Equal(usage, want) {
		t.Errorf("usage %v, want %v", usage, want)
	}
}

func TestCalibrationBatches(t *testing.T) {
	toks := make([]int32, 100)
	for i := range toks {
		toks[i] = int32(i)
	}
	// Windows of 10 inputs start every 10 tokens while 11 fit: 9 windows,
	// in batches of 4: 4, 4, 1.
	bs := calibrationBatches(toks, 4, 10, 16)
	if len(bs) != 3 || len(bs[0].ids) != 40 || len(bs[2].ids) != 10 || bs[1].ids[0] != 40 || bs[2].ids[9] != 89 {
		t.Fatalf("batches of 100 tokens: %d, sizes %d/%d", len(bs), len(bs[0].ids), len(bs[len(bs)-1].ids))
	}
	if bs := calibrationBatches(toks, 4, 10, 2); len(bs) != 2 {
		t.Errorf("capped at 2 batches: got %d", len(bs))
	}
	if bs := calibrationBatches(toks[:5], 4, 10, 2); len(bs) != 1 || bs[0].t != 4 || !slices.Equal(bs[0].ids, toks[:4]) {
		t.Errorf("5 tokens: %+v, want one window of the first 4", bs)
	}
	if bs := calibrationBatches(toks[:1], 4, 10, 2); len(bs) != 0 {
		t.Errorf("1 token: %d batches, want none", len(bs))
	}
}

// TestFrequencyKeepsMostUsed: with zero gates every logit is 0, so the
// expert bias alone chooses: layer 0 always takes experts 1 and 3, layer 1
// experts 0 and 2, each with weight 1/2. Frequency keeps exactly those, and
// the model without the never-used experts computes what the full one does.
func TestFrequencyKeepsMostUsed(t *testing.T) {
	c := smallConfig(t, func(c *configs.Config) { c.MoE.Router.ExpertBias = true })
	m := model64(t, c, 9)
	biases := [][]float32{{0, 10, 0, 10}, {10, 0, 10, 0}}
	for j, blk := range m.Blocks {
		gate := blk.MoE.Router.Params()[0]
		for i := range gate.Len() {
			gate.Set(i, 0)
		}
		if err := blk.MoE.Router.SetBias(biases[j]); err != nil {
			t.Fatal(err)
		}
	}
	tokens := randomTokens(200, c.Model.VocabSize, 1)
	cases := map[int][][]int{
		2: {{1, 3}, {0, 2}},
		1: {{1}, {0}},             // ties to the lower index
		3: {{0, 1, 3}, {0, 1, 2}}, // the unused expert with the lowest index joins
	}
	for p, want := range cases {
		res, err := Prune(c, m, tokens, Options{Keep: p, Method: Frequency})
		if err != nil {
			t.Fatal(err)
		}
		if res.Batches != 6 || res.Tokens != 192 {
			t.Errorf("calibration: %d batches, %d tokens; want 6 batches of 2 windows of 16", res.Batches, res.Tokens)
		}
		for j, l := range res.Layers {
			if !slices.Equal(l.Kept, want[j]) {
				t.Errorf("keep %d, layer %d: kept %v, want %v (usage %v)", p, l.Index, l.Kept, want[j], l.Usage)
			}
			used := biases[j]
			for e, u := range l.Usage {
				if w := float64(used[e]) / 20; math.Abs(u-w) > 1e-12 {
					t.Errorf("layer %d expert %d: usage share %v, want %v", l.Index, e, u, w)
				}
			}
		}
		if p == 2 {
			if d := maxDiff(logits(res.Model, tokens[:32], 2, 16), logits(m, tokens[:32], 2, 16)); d > 1e-9 {
				t.Errorf("dropping never-used experts changed the logits by %g", d)
			}
		}
	}
}
