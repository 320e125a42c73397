package layers_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// auxFromRouting computes coeff * E / S * sum_s sum_i f_{s,i} P_{s,i} from a
// routing's choices and probs in plain float64, for sequences of seqLen.
func auxFromRouting(rt *router.Routing, seqLen int, coeff float64) float64 {
	n, e := rt.Probs.Dim(0), rt.Probs.Dim(1)
	s := n / seqLen
	total := 0.0
	for seq := 0; seq < s; seq++ {
		f, p := make([]float64, e), make([]float64, e)
		choices := 0
		for tok := seq * seqLen; tok < (seq+1)*seqLen; tok++ {
			for c := rt.ChoiceOffsets[tok]; c < rt.ChoiceOffsets[tok+1]; c++ {
				f[rt.Choices[c]]++
				choices++
			}
			for i := range p {
				p[i] += rt.Probs.At(tok*e+i) / float64(seqLen)
			}
		}
		for i := range f {
			total += f[i] / float64(choices) * p[i]
		}
	}
	return coeff * float64(e) / float64(s) * total
}

// TestLossAuxWiring: Model.Loss feeds each MoE layer's choices to the
// batch-level or, with SeqAux, the sequence-level balance loss, and the two
// differ on this batch.
func TestLossAuxWiring(t *testing.T) {
	cfg := layers.Config{
		Vocab: 11, DModel: 8, Layers: 2, Heads: 2, KVHeads: 1, FFNHidden: 8, MaxSeqLen: 5, RopeTheta: 10000,
		NormEps: 1e-5, MoELayers: []bool{true, true}, Experts: []int{4, 3}, ExpertFFN: 5,
		Router: router.Config{TopK: 2, Type: router.TopKSoftmax, Normalize: true},
	}
	m, err := layers.New(cfg, autograd.Float64, 2)
	if err != nil {
		t.Fatal(err)
	}
	const b, tl, coeff = 3, 5, 0.7
	rng := rand.New(rand.NewPCG(3, 3))
	tokens := make([]int32, b*tl)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(cfg.Vocab))
	}
	tp := autograd.NewNoGradTape()
	out := m.Forward(tp, tokens, b, tl, layers.ForwardOptions{})
	batch := m.Loss(tp, out, tokens, layers.LossConfig{AuxCoeff: coeff, IgnoreIdx: -100})
	seq := m.Loss(tp, out, tokens, layers.LossConfig{AuxCoeff: coeff, SeqAux: true, SeqLen: tl, IgnoreIdx: -100})
	wantBatch, wantSeq := 0.0, 0.0
	for _, rt := range out.Routings {
		wantBatch += auxFromRouting(rt, b*tl, coeff)
		wantSeq += auxFromRouting(rt, tl, coeff)
	}
	if got := batch.Aux.Item(); math.Abs(got-wantBatch) > 1e-12 {
		t.Errorf("batch aux loss %v, want %v", got, wantBatch)
	}
	if got := seq.Aux.Item(); math.Abs(got-wantSeq) > 1e-12 {
		t.Errorf("sequence aux loss %v, want %v", got, wantSeq)
	}
	if math.Abs(wantSeq-wantBatch) < 1e-6 {
		t.Fatalf("sequence and batch aux losses agree (%v); the batch does not tell them apart", wantSeq)
	}
	if z := batch.Z; z != nil {
		t.Errorf("z-loss %v with ZCoeff 0", z.Item())
	}
}
