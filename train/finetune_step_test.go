package train

// The step loss is the mean over the step's trained tokens. Mutations caught (each tried):
//   - weighting each micro-batch's LM loss 1/accum again (lmExtra = 0): TestStepTokenMeanGradient
//     (gradient and LM loss) fails.
//   - weighting the router losses by n_i/N with the LM loss (objective Scale(Total, w)):
//     TestStepTokenMeanGradient fails.
//   - running forward on a micro-batch without trained targets: TestStepSkipsEmptyMicroBatch fails
//     (the dropout stream moves on, the weights differ); counting it in M: the same test fails.
//   - counting every target as trained (countTrained returns len): TestStepTokenMeanGradient
//     (Tokens, weights) and TestStepSkipsEmptyMicroBatch fail.
//   - the trainer's guard treating an empty step as non-finite: TestStepAllEmpty fails (skipped
//     count, log line).
//   - lmExtra computed as n_i/N - 1/accum instead of - 1/M: TestStepSkipsEmptyMicroBatch fails.
//   - drawMicroBatches keeping Next's slices without copying them (the sampler reuses one buffer):
//     TestStepTokenMeanGradient fails.
//   - masked targets fed to the loss as token 0 instead of IgnoreIndex: TestMaskedPositionsGetNoGradient
//     and TestStepTokenMeanGradient fail.
//   - the LM term added even when lmExtra is 0 (always Add(Scale(Total), Scale(LM, 0))): nothing
//     fails, as it must not: that graph gives the same gradients bit for bit.

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
)

// float64Trainer builds a trainer on a float64 model of c, drawing from batches.
func float64Trainer(t *testing.T, c *configs.Config, batches Batches) *Trainer {
	t.Helper()
	m, err := layers.New(ModelConfig(c), autograd.Float64, uint64(c.Train.Seed))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: batches, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// maskedBatch returns one micro-batch of b rows of T random tokens whose targets are trained at
// n positions spread over the batch and IgnoreIndex elsewhere.
func maskedBatch(rng *rand.Rand, b, T, n int) (inputs, targets []int32) {
	inputs, targets = make([]int32, b*T), make([]int32, b*T)
	for i := range inputs {
		inputs[i], targets[i] = int32(rng.IntN(256)), IgnoreIndex
	}
	for _, k := range rng.Perm(b * T)[:n] {
		targets[k] = int32(rng.IntN(256))
	}
	return inputs, targets
}

// reusedBatches serves fixedBatches' micro-batches in one buffer that every Next overwrites, as
// the data samplers do.
type reusedBatches struct {
	fixedBatches
	inputs, targets []int32
}

func (r *reusedBatches) Next() ([]int32, []int32) {
	in, tg := r.fixedBatches.Next()
	r.inputs, r.targets = append(r.inputs[:0], in...), append(r.targets[:0], tg...)
	return r.inputs, r.targets
}

// gradsOf returns a copy of every trainable parameter's gradient.
func gradsOf(params []*autograd.Tensor) [][]float64 {
	out := make([][]float64, len(params))
	for i, p := range params {
		out[i] = make([]float64, p.Len())
		for j := range out[i] {
			out[i][j] = p.GradAt(j)
		}
	}
	return out
}

// valuesOf returns a copy of every parameter's values.
func valuesOf(params []*autograd.Tensor) [][]float64 {
	out := make([][]float64, len(params))
	for i, p := range params {
		out[i] = make([]float64, p.Len())
		for j := range out[i] {
			out[i][j] = p.At(j)
		}
	}
	return out
}

// stepSets is a step without randomness: no dropout, jitter or clipping.
var stepSets = []string{"train.dropout=0", "moe.router.jitter_eps=0", "train.grad_clip=0", "train.warmup_steps=0", "train.seq_len=32"}

// TestStepTokenMeanGradient: a step over two micro-batches with 3 and 300 trained tokens has the
// gradient of the mean cross-entropy over all 303 tokens (one forward over both micro-batches,
// float64), plus half of each micro-batch's own router losses; the mean of the two micro-batch
// means, the old weighting, is far from it.
func TestStepTokenMeanGradient(t *testing.T) {
	const b, T = 10, 32
	c := testConfig(t, append(slices.Clone(stepSets), "train.micro_batch_size=10", "train.grad_accum_steps=2",
		"moe.aux_loss_coeff=0.1", "moe.z_loss_coeff=0.01")...)
	rng := rand.New(rand.NewPCG(3, 300))
	in0, tg0 := maskedBatch(rng, b, T, 3)
	in1, tg1 := maskedBatch(rng, b, T, 300)
	tr := float64Trainer(t, c, &reusedBatches{fixedBatches: fixedBatches{inputs: [][]int32{in0, in1}, targets: [][]int32{tg0, tg1}}})
	res := &StepResult{}
	if err := tr.accumulate(res, tr.drawMicroBatches(2)); err != nil {
		t.Fatal(err)
	}
	if res.Tokens != 303 || res.MicroBatches != 2 || res.Skipped {
		t.Fatalf("tokens %d, micro-batches %d, skipped %v; want 303, 2, false", res.Tokens, res.MicroBatches, res.Skipped)
	}
	got := gradsOf(tr.params)

	// The reference, on a second copy of the model: the pooled LM loss, then each micro-batch's
	// router losses at 1/2, accumulated into the same gradients.
	ref, err := layers.New(ModelConfig(c), autograd.Float64, uint64(c.Train.Seed))
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape()
	opts := layers.ForwardOptions{Training: true, RNG: rand.New(rand.NewPCG(1, 1))}
	lossCfg := LossConfig(c)
	out := ref.Forward(tp, append(slices.Clone(in0), in1...), 2*b, T, opts)
	pooled := tp.CrossEntropy(out.Logits, append(slices.Clone(tg0), tg1...), IgnoreIndex)
	pooledLM := pooled.Item()
	if err := tp.Backward(pooled); err != nil {
		t.Fatal(err)
	}
	tp.Reset()
	var meanOfMeans float64
	for _, mb := range [][2][]int32{{in0, tg0}, {in1, tg1}} {
		out := ref.Forward(tp, mb[0], b, T, opts)
		l := ref.Loss(tp, out, mb[1], lossCfg)
		meanOfMeans += l.LM.Item() / 2
		if err := tp.Backward(tp.Scale(tp.Add(l.Aux, l.Z), 0.5)); err != nil {
			t.Fatal(err)
		}
		tp.Reset()
	}
	want := gradsOf(ref.Trainable())
	if d := relDiff(got, want); !(d < 1e-10) {
		t.Errorf("step gradient differs from the token-mean gradient by %.3g (relative)", d)
	}
	if !near(res.LMLoss, pooledLM, 1e-12) {
		t.Errorf("step LM loss %.15g, mean over the 303 tokens %.15g", res.LMLoss, pooledLM)
	}
	if near(pooledLM, meanOfMeans, 1e-3) {
		t.Fatalf("pooled loss %v and mean of means %v agree: the batches cannot tell the weightings apart", pooledLM, meanOfMeans)
	}
	if !near(res.Loss, res.LMLoss+res.AuxLoss+res.ZLoss, 1e-12) {
		t.Errorf("loss %v is not lm %v + aux %v + z %v", res.Loss, res.LMLoss, res.AuxLoss, res.ZLoss)
	}
}

// TestStepSkipsEmptyMicroBatch: micro-batches with no trained target are not run: a step of
// [empty, X, empty] gives bit for bit the weights, losses and load of a one-micro-batch step on
// X, with dropout on (a forward pass over an empty micro-batch would move the dropout stream).
func TestStepSkipsEmptyMicroBatch(t *testing.T) {
	const b, T = 4, 32
	rng := rand.New(rand.NewPCG(5, 6))
	in, tg := maskedBatch(rng, b, T, 40)
	emptyIn, emptyTg := maskedBatch(rng, b, T, 0)
	run := func(accum int, inputs, targets [][]int32) (*StepResult, [][]float64) {
		c := testConfig(t, "train.dropout=0.1", "train.warmup_steps=0", "train.seq_len=32", "train.micro_batch_size=4",
			"train.grad_accum_steps="+strconv.Itoa(accum), "moe.aux_loss_coeff=0.1")
		tr := float64Trainer(t, c, &fixedBatches{inputs: inputs, targets: targets})
		sr, err := tr.step1()
		if err != nil {
			t.Fatal(err)
		}
		return sr, valuesOf(tr.Model().Params())
	}
	skip, wSkip := run(3, [][]int32{emptyIn, in, emptyIn}, [][]int32{emptyTg, tg, emptyTg})
	one, wOne := run(1, [][]int32{in}, [][]int32{tg})
	if skip.Skipped || skip.MicroBatches != 1 || skip.Tokens != 40 || one.Tokens != 40 {
		t.Fatalf("step with empty micro-batches: skipped %v, %d micro-batches, %d tokens (one micro-batch: %d); want 1 and 40",
			skip.Skipped, skip.MicroBatches, skip.Tokens, one.Tokens)
	}
	if skip.Loss != one.Loss || skip.LMLoss != one.LMLoss || skip.AuxLoss != one.AuxLoss || skip.GradNorm != one.GradNorm ||
		skip.Entropy != one.Entropy {
		t.Errorf("losses %+v, want those of the one-micro-batch step %+v", skip, one)
	}
	if !slices.EqualFunc(skip.Load, one.Load, slices.Equal[[]int]) {
		t.Errorf("load %v, want %v", skip.Load, one.Load)
	}
	if !slices.EqualFunc(wSkip, wOne, slices.Equal[[]float64]) {
		t.Error("the weights differ from those of the one-micro-batch step")
	}
}

// TestStepAllEmpty: a step whose micro-batches have no trained target runs nothing and applies
// nothing; the run logs it, does not count it as skipped for non-finite values, and goes on.
func TestStepAllEmpty(t *testing.T) {
	const b, T = 4, 32
	rng := rand.New(rand.NewPCG(7, 8))
	emptyIn, emptyTg := maskedBatch(rng, b, T, 0)
	in, tg := maskedBatch(rng, b, T, 25)
	c := testConfig(t, "train.warmup_steps=0", "train.seq_len=32", "train.micro_batch_size=4", "train.grad_accum_steps=2",
		"train.steps=7", "train.eval_every=0", "train.checkpoint_every=0")
	// Steps 1 to 6 are empty, more than MaxBadSteps in a row; step 7 trains.
	batches := &fixedBatches{inputs: [][]int32{emptyIn}, targets: [][]int32{emptyTg}}
	var log bytes.Buffer
	off := false
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: batches, Log: &log, TTY: &off,
		OnStep: func(step int) {
			if step == 6 {
				batches.inputs, batches.targets = [][]int32{in}, [][]int32{tg}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	before := valuesOf(tr.Model().Params())
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if res.Steps != 7 || res.Skipped != 0 || res.Tokens != 2*25 {
		t.Errorf("result: %d steps, %d skipped, %d tokens; want 7, 0, 50", res.Steps, res.Skipped, res.Tokens)
	}
	if n := strings.Count(log.String(), "no trained target in its 2 micro-batches; nothing applied"); n != 6 {
		t.Errorf("the empty steps are logged %d times, want 6:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "step 6: no trained target") || strings.Contains(log.String(), "non-finite") {
		t.Errorf("log:\n%s", log.String())
	}
	if tr.opt.Steps() != 1 {
		t.Errorf("the optimizer stepped %d times, want once", tr.opt.Steps())
	}
	if slices.EqualFunc(valuesOf(tr.Model().Params()), before, slices.Equal[[]float64]) {
		t.Error("step 7 did not train")
	}

	// One empty step alone leaves every weight as it was.
	tr2, err := New(Options{Config: c, RunDir: t.TempDir(), Train: &fixedBatches{inputs: [][]int32{emptyIn}, targets: [][]int32{emptyTg}}})
	if err != nil {
		t.Fatal(err)
	}
	before = valuesOf(tr2.Model().Params())
	sr, err := tr2.step1()
	if err != nil {
		t.Fatal(err)
	}
	if !sr.Empty || !sr.Skipped || sr.Tokens != 0 || sr.MicroBatches != 0 || sr.Load != nil {
		t.Errorf("empty step: %+v", sr)
	}
	if !slices.EqualFunc(valuesOf(tr2.Model().Params()), before, slices.Equal[[]float64]) {
		t.Error("an empty step changed the weights")
	}
}

// TestMaskedPositionsGetNoGradient: the positions whose targets are IgnoreIndex add nothing to the
// gradient: rewriting the inputs of every row's masked tail (after its last trained target)
// leaves the gradient unchanged bit for bit, in float64; training those positions changes it.
func TestMaskedPositionsGetNoGradient(t *testing.T) {
	const b, T, tail = 4, 32, 8
	c := testConfig(t, append(slices.Clone(stepSets), "train.micro_batch_size=4", "train.grad_accum_steps=1",
		"moe.aux_loss_coeff=0", "moe.z_loss_coeff=0")...) // the router losses count every token, trained or not
	rng := rand.New(rand.NewPCG(9, 10))
	in, tg := maskedBatch(rng, b, T, 0)
	for r := range b {
		for p := range T - tail {
			if rng.IntN(2) == 0 {
				tg[r*T+p] = int32(rng.IntN(256))
			}
		}
	}
	grad := func(inputs, targets []int32) [][]float64 {
		tr := float64Trainer(t, c, &fixedBatches{inputs: [][]int32{inputs}, targets: [][]int32{targets}})
		if err := tr.accumulate(&StepResult{}, tr.drawMicroBatches(1)); err != nil {
			t.Fatal(err)
		}
		return gradsOf(tr.params)
	}
	g0 := grad(in, tg)
	changed := slices.Clone(in)
	unmasked := slices.Clone(tg)
	for r := range b {
		for p := T - tail; p < T; p++ {
			changed[r*T+p] = (changed[r*T+p] + 1 + int32(rng.IntN(200))) % 256
			unmasked[r*T+p] = int32(rng.IntN(256))
		}
	}
	if g1 := grad(changed, tg); !slices.EqualFunc(g1, g0, slices.Equal[[]float64]) {
		t.Errorf("changing masked positions changed the gradient by %.3g (relative)", relDiff(g1, g0))
	}
	if g2 := grad(in, unmasked); slices.EqualFunc(g2, g0, slices.Equal[[]float64]) {
		t.Error("training the tail positions left the gradient as it was: the test cannot see them")
	}
}

// oldStep is the step as it was computed before micro-batches were weighted by their trained
// tokens: each micro-batch's total loss scaled by 1/grad_accum_steps.
func oldStep(t *testing.T, tr *Trainer) *StepResult {
	t.Helper()
	c := tr.cfg.Train
	accum := c.GradAccumSteps
	res := &StepResult{LR: tr.sched.At(tr.scheduleStep()), Load: make([][]int, len(tr.moeLayers))}
	scale := 1 / float64(accum)
	for range accum {
		inputs, targets := tr.batches.Next()
		out := tr.model.Forward(tr.tape, inputs, c.MicroBatchSize, c.SeqLen, tr.fwdOpts)
		loss := tr.model.Loss(tr.tape, out, targets, tr.lossCfg)
		res.Loss += loss.Total.Item() * scale
		res.LMLoss += loss.LM.Item() * scale
		res.AuxLoss += loss.Aux.Item() * scale
		res.ZLoss += loss.Z.Item() * scale
		for l, rt := range out.Routings {
			st := rt.Stats()
			if res.Load[l] == nil {
				res.Load[l] = make([]int, len(st.TokensPerExpert))
			}
			for e, n := range st.TokensPerExpert {
				res.Load[l][e] += n
			}
			res.Entropy += st.Entropy / float64(len(tr.moeLayers)*accum)
		}
		res.Tokens += len(inputs)
		if err := tr.tape.Backward(tr.tape.Scale(loss.Total, scale)); err != nil {
			t.Fatal(err)
		}
		tr.tape.Reset()
	}
	res.GradNorm = optim.GradNormOn(tr.tape.Engine(), tr.params)
	tr.opt.SetLR(res.LR)
	tr.opt.StepScaled(optim.ClipFactor(res.GradNorm, c.GradClip))
	optim.ZeroGrad(tr.params)
	for l, layer := range tr.moeLayers {
		tr.model.Blocks[layer].MoE.Router.UpdateBias(res.Load[l])
	}
	tr.step++
	return res
}

// TestPretrainingStepUnchanged: on pretraining data, where every target is trained, the token
// weighting is the old average of micro-batch losses exactly: three steps of three micro-batches
// (float64, router losses, jitter, dropout, clipping and the expert bias on) give the same
// losses, gradient norms, loads and weights, bit for bit, as the old formula computed here.
func TestPretrainingStepUnchanged(t *testing.T) {
	c := testConfig(t, "train.grad_accum_steps=3", "train.micro_batch_size=2", "train.dropout=0.1", "train.grad_clip=0.5",
		"moe.aux_loss_coeff=0.02", "moe.z_loss_coeff=0.001", "moe.router.expert_bias=true", "train.warmup_steps=1")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	now, old := float64Trainer(t, c, ds.TrainBatches(c)), float64Trainer(t, c, ds.TrainBatches(c))
	for step := 1; step <= 3; step++ {
		got, err := now.step1()
		if err != nil {
			t.Fatal(err)
		}
		want := oldStep(t, old)
		if got.Skipped || got.Loss != want.Loss || got.LMLoss != want.LMLoss || got.AuxLoss != want.AuxLoss || got.ZLoss != want.ZLoss ||
			got.GradNorm != want.GradNorm || got.Tokens != want.Tokens || got.Entropy != want.Entropy || got.LR != want.LR {
			t.Errorf("step %d: got %+v\nwant %+v", step, got, want)
		}
		if !slices.EqualFunc(got.Load, want.Load, slices.Equal[[]int]) {
			t.Errorf("step %d: load %v, want %v", step, got.Load, want.Load)
		}
		if got.Tokens != 3*2*32 || got.MicroBatches != 3 {
			t.Errorf("step %d: %d tokens over %d micro-batches, want 192 over 3", step, got.Tokens, got.MicroBatches)
		}
	}
	a, b := valuesOf(now.Model().Params()), valuesOf(old.Model().Params())
	if !slices.EqualFunc(a, b, slices.Equal[[]float64]) {
		t.Errorf("weights after 3 steps differ from the old formula's by %.3g (relative)", relDiff(a, b))
	}
	if math.IsNaN(relDiff(a, b)) {
		t.Error("NaN weights")
	}
}
