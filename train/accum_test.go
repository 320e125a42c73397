package train

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// Gradient accumulation and the expert-bias update, as train/doc.go states
// them. Mutations tried (each survived the suite before these tests) and the
// test that caught each:
//   - no 1/grad_accum_steps scaling of the backward pass:
//     TestAccumulationEqualsOneBigBatch (parameters and gradient norm).
//   - the reported losses not scaled by 1/grad_accum_steps:
//     TestAccumulationEqualsOneBigBatch, TestAccumulationAuxPerMicroBatch.
//   - the trainer not calling Router.UpdateBias: TestExpertBiasUpdate.
//   - UpdateBias called once per micro-batch instead of once per step with
//     the summed load: TestExpertBiasUpdate.
//
// The accumulation test runs AdamW with eps = 1 and no clipping: Adam's first
// update is lr*g/(|g|+eps), which with the usual eps of 1e-8 is lr*sign(g)
// whatever the gradient's scale, and clipping also normalises the scale away,
// so a gradient twice too large would pass unseen.

// fixedBatches serves the same micro-batches in turn.
type fixedBatches struct {
	inputs, targets [][]int32
	next            int
}

func (f *fixedBatches) Next() ([]int32, []int32) {
	i := f.next % len(f.inputs)
	f.next++
	return f.inputs[i], f.targets[i]
}

func (f *fixedBatches) State() ([]byte, error) { return []byte(strconv.Itoa(f.next)), nil }

func (f *fixedBatches) Restore(b []byte) error {
	n, err := strconv.Atoi(string(b))
	f.next = n
	return err
}

// sequences returns n random sequences of t tokens and their targets.
func sequences(n, t int) (inputs, targets [][]int32) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range n {
		in, tg := make([]int32, t), make([]int32, t)
		for i := range in {
			in[i], tg[i] = int32(rng.IntN(256)), int32(rng.IntN(256))
		}
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	return inputs, targets
}

// joined groups seqs into micro-batches of b sequences each, [b*T] flat.
func joined(seqs [][]int32, b int) [][]int32 {
	var out [][]int32
	for i := 0; i < len(seqs); i += b {
		var mb []int32
		for _, s := range seqs[i : i+b] {
			mb = append(mb, s...)
		}
		out = append(out, mb)
	}
	return out
}

// oneStep runs one optimizer step with micro-batches of b sequences drawn
// from seqs in order, and returns the step's result and every parameter's
// change.
func oneStep(t *testing.T, b, accum int, inputs, targets [][]int32, sets ...string) (*StepResult, [][]float64) {
	t.Helper()
	base := []string{"train.dropout=0", "moe.router.jitter_eps=0", "train.grad_clip=0", "train.eps=1", "train.lr=0.05", "train.warmup_steps=0",
		"train.micro_batch_size=" + strconv.Itoa(b), "train.grad_accum_steps=" + strconv.Itoa(accum)}
	c := testConfig(t, append(base, sets...)...)
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: &fixedBatches{inputs: joined(inputs, b), targets: joined(targets, b)}})
	if err != nil {
		t.Fatal(err)
	}
	var before []*autograd.Tensor
	for _, p := range tr.Model().Params() {
		before = append(before, p.Clone())
	}
	sr, err := tr.step1()
	if err != nil {
		t.Fatal(err)
	}
	if sr.Skipped || sr.LR == 0 {
		t.Fatalf("step skipped (%s) or at lr %v", sr.BadTensor, sr.LR)
	}
	var delta [][]float64
	for i, p := range tr.Model().Params() {
		d := make([]float64, p.Len())
		for j := range d {
			d[j] = p.At(j) - before[i].At(j)
		}
		delta = append(delta, d)
	}
	return sr, delta
}

// relDiff is ||a-b|| / ||b|| over all parameter changes.
func relDiff(a, b [][]float64) float64 {
	var num, den float64
	for i := range a {
		for j := range a[i] {
			num += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j])
			den += b[i][j] * b[i][j]
		}
	}
	return math.Sqrt(num / den)
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

// TestAccumulationEqualsOneBigBatch: two micro-batches of 2 sequences
// accumulated give the step one micro-batch of 4 gives (within float32
// rounding), for the losses that are means over tokens or sequences: LM
// cross-entropy, z-loss and the sequence-level balancing loss.
func TestAccumulationEqualsOneBigBatch(t *testing.T) {
	in, tg := sequences(4, 32)
	sets := []string{"moe.load_balancing_type=seq_aux_loss", "moe.aux_loss_coeff=0.1", "moe.z_loss_coeff=0.01"}
	acc, dAcc := oneStep(t, 2, 2, in, tg, sets...)
	big, dBig := oneStep(t, 4, 1, in, tg, sets...)
	for _, q := range []struct {
		name     string
		acc, big float64
	}{{"loss", acc.Loss, big.Loss}, {"lm", acc.LMLoss, big.LMLoss}, {"aux", acc.AuxLoss, big.AuxLoss},
		{"z", acc.ZLoss, big.ZLoss}, {"grad norm", acc.GradNorm, big.GradNorm}} {
		if !near(q.acc, q.big, 1e-4) {
			t.Errorf("%s: accumulated %v, one batch %v", q.name, q.acc, q.big)
		}
	}
	if acc.Tokens != big.Tokens || acc.Tokens != 4*32 {
		t.Errorf("tokens: accumulated %d, one batch %d, want 128", acc.Tokens, big.Tokens)
	}
	r := relDiff(dAcc, dBig)
	t.Logf("parameter updates differ by %.3g (relative)", r)
	if !(r < 1e-4) {
		t.Errorf("parameter updates differ by %.3g (relative)", r)
	}
}

// TestAccumulationAuxPerMicroBatch: the batch-level balancing loss is
// computed over each micro-batch's own tokens and averaged over the
// micro-batches, so it is the mean of what each micro-batch gives alone, not
// the loss of the pooled tokens; the LM loss is the pooled one.
func TestAccumulationAuxPerMicroBatch(t *testing.T) {
	in, tg := sequences(4, 32)
	sets := []string{"moe.load_balancing_type=aux_loss", "moe.aux_loss_coeff=0.1"}
	acc, _ := oneStep(t, 2, 2, in, tg, sets...)
	first, _ := oneStep(t, 2, 1, in[:2], tg[:2], sets...)
	second, _ := oneStep(t, 2, 1, in[2:], tg[2:], sets...)
	big, _ := oneStep(t, 4, 1, in, tg, sets...)
	if want := (first.AuxLoss + second.AuxLoss) / 2; !near(acc.AuxLoss, want, 1e-5) {
		t.Errorf("accumulated aux loss %v, mean of the micro-batches' %v", acc.AuxLoss, want)
	}
	if near(acc.AuxLoss, big.AuxLoss, 1e-4) {
		t.Errorf("accumulated aux loss %v equals the pooled batch's %v: the test cannot tell them apart", acc.AuxLoss, big.AuxLoss)
	}
	if !near(acc.LMLoss, big.LMLoss, 1e-5) {
		t.Errorf("lm loss: accumulated %v, one batch %v", acc.LMLoss, big.LMLoss)
	}
}

// TestExpertBiasUpdate: with moe.router.expert_bias, one optimizer step of two
// micro-batches moves each MoE layer's bias once, by the documented rule
// bias_e += bias_update_rate * sign(mean load - load_e), where load_e counts
// expert e's kept slots over both micro-batches (recounted here from the
// routing of the model before the step).
func TestExpertBiasUpdate(t *testing.T) {
	const rate = 0.01
	in, tg := sequences(4, 32)
	c := testConfig(t, "moe.router.type=sigmoid", "moe.router.expert_bias=true", "moe.router.bias_update_rate=0.01",
		"moe.load_balancing_type=none", "moe.aux_loss_coeff=0", "moe.router.jitter_eps=0",
		"train.micro_batch_size=2", "train.grad_accum_steps=2", "train.warmup_steps=0")
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: &fixedBatches{inputs: joined(in, 2), targets: joined(tg, 2)}})
	if err != nil {
		t.Fatal(err)
	}
	m := tr.Model()
	var load [][]int // [MoE layer][E]
	before := map[int][]float32{}
	for i, blk := range m.Blocks {
		if blk.MoE != nil {
			before[i] = blk.MoE.Router.Bias()
		}
	}
	tp := autograd.NewNoGradTape()
	for _, mb := range joined(in, 2) {
		out := m.Forward(tp, mb, 2, 32, layers.ForwardOptions{Training: true, RNG: rand.New(rand.NewPCG(1, 1))})
		for l, rt := range out.Routings {
			counts := rt.TokensPerExpert()
			if l == len(load) {
				load = append(load, make([]int, len(counts)))
			}
			for e, n := range counts {
				load[l][e] += n
			}
		}
		tp.Reset()
	}
	sr, err := tr.step1()
	if err != nil {
		t.Fatal(err)
	}
	l, changed := 0, 0
	for i, blk := range m.Blocks {
		if blk.MoE == nil {
			continue
		}
		total := 0
		for _, n := range load[l] {
			total += n
		}
		mean := float64(total) / float64(len(load[l]))
		after := blk.MoE.Router.Bias()
		for e, n := range load[l] {
			want := before[i][e]
			switch {
			case float64(n) < mean:
				want += rate
			case float64(n) > mean:
				want -= rate
			}
			if after[e] != want {
				t.Errorf("layer %d expert %d (load %d, mean %.2f): bias %v -> %v, want %v", i, e, n, mean, before[i][e], after[e], want)
			}
			if after[e] != before[i][e] {
				changed++
			}
			if sr.Load[l][e] != n {
				t.Errorf("layer %d expert %d: step reports load %d, recounted %d", i, e, sr.Load[l][e], n)
			}
		}
		l++
	}
	if changed == 0 {
		t.Error("no expert bias moved")
	}
}
