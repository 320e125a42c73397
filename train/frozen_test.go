package train

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/layers"
)

// Frozen parameters and partial loading in the trainer. Mutations tried and
// the test that caught each:
//   - New building AdamW over m.Params() instead of m.Trainable(): every test
//     here that freezes (NewAdamW refuses a frozen parameter).
//   - the all-frozen check removed: TestAllFrozenRefused.
//   - the optimizer-state file not named in a resume error: TestResumeWithFrozen.
//   - LoadModelTensors passing its options through as strict:
//     TestLoadModelTensorsPartial.
//   - the expert-bias length check removed (the router's SetBias would then
//     refuse it after the weights were copied): TestLoadModelTensorsPartial.

// isFrozenPart matches what these tests freeze: the embedding table and
// layer 0's experts.
func isFrozenPart(name string) bool {
	return strings.HasPrefix(name, "embed_tokens") || strings.HasPrefix(name, "layers.0.moe.experts.")
}

// frozenTrainer builds a trainer over a model with isFrozenPart frozen.
func frozenTrainer(t *testing.T, dir string, resume bool, sets ...string) (*Trainer, *layers.Model) {
	t.Helper()
	c := testConfig(t, append([]string{"train.steps=4", "train.eval_every=0", "train.checkpoint_every=2"}, sets...)...)
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	if m.Freeze(isFrozenPart) < 2 {
		t.Fatal("froze fewer than 2 parameters")
	}
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: dir, Resume: resume, Train: ds.TrainBatches(c), Model: m})
	if err != nil {
		t.Fatal(err)
	}
	return tr, m
}

// TestFrozenParamsStayPut: after training steps, frozen parameters are bit
// for bit what they were, hold no gradient buffer and no AdamW moments, and
// are saved in the model checkpoint but not in the optimizer's; the rest
// trained.
func TestFrozenParamsStayPut(t *testing.T) {
	dir := t.TempDir()
	tr, m := frozenTrainer(t, dir, false)
	before := map[string]*autograd.Tensor{}
	for _, p := range m.Params() {
		before[p.Name] = p.Clone()
	}
	res, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 4 || res.Skipped != 0 {
		t.Fatalf("run: %+v", res)
	}
	moved := 0
	for _, p := range m.Params() {
		same := slices.Equal(p.F32(), before[p.Name].F32())
		if !p.RequiresGrad() {
			if !same {
				t.Errorf("frozen %s changed", p.Name)
			}
			if p.HasGrad() {
				t.Errorf("frozen %s has a gradient buffer", p.Name)
			}
		} else if !same {
			moved++
		}
	}
	if moved != len(m.Trainable()) {
		t.Errorf("%d of %d trainable parameters moved", moved, len(m.Trainable()))
	}
	ck, err := checkpoint.Load(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		saved, ok := ck.Model[p.Name]
		if !ok || !slices.Equal(saved.F32(), p.F32()) {
			t.Errorf("model checkpoint: %s missing or different", p.Name)
		}
		_, hasMoment := ck.Optimizer["exp_avg."+p.Name]
		_, hasMoment2 := ck.Optimizer["exp_avg_sq."+p.Name]
		if hasMoment != p.RequiresGrad() || hasMoment2 != p.RequiresGrad() {
			t.Errorf("optimizer checkpoint: %s (trainable %v) has moments %v %v", p.Name, p.RequiresGrad(), hasMoment, hasMoment2)
		}
	}
	if want := 2*len(m.Trainable()) + 1; len(ck.Optimizer) != want {
		t.Errorf("optimizer checkpoint holds %d tensors, want %d", len(ck.Optimizer), want)
	}
}

// TestFrozenLeftoverGradientIgnored: a parameter frozen while its gradient
// buffer holds NaN neither skips the step nor enters the gradient norm.
func TestFrozenLeftoverGradientIgnored(t *testing.T) {
	tr, m := frozenTrainer(t, t.TempDir(), false)
	p := m.Embed.Table
	g := autograd.Grads[float32](p)
	for i := range g {
		g[i] = float32(math.NaN())
	}
	sr, err := tr.step1()
	if err != nil {
		t.Fatal(err)
	}
	if sr.Skipped || !finite(sr.GradNorm) {
		t.Errorf("step skipped %v (%s), grad norm %v", sr.Skipped, sr.BadTensor, sr.GradNorm)
	}
}

// TestResumeWithFrozen: with frozen parameters, a run stopped at step 2 and
// resumed repeats the losses of an uninterrupted run bit for bit, so the
// optimizer state of the trainable subset round-trips; resuming with a
// parameter frozen that the checkpoint trained is refused, naming the
// optimizer file.
func TestResumeWithFrozen(t *testing.T) {
	full, split := t.TempDir(), t.TempDir()
	trFull, _ := frozenTrainer(t, full, false)
	if _, err := trFull.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, _ := frozenTrainer(t, split, false)
	ctx, cancel := context.WithCancel(context.Background())
	first.opts.OnStep = func(step int) {
		if step == 2 {
			cancel()
		}
	}
	if res, err := first.Run(ctx); err != nil || res.Steps != 2 {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
	cancel()
	resumed, _ := frozenTrainer(t, split, true)
	if _, err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, err := ReadMetrics(filepath.Join(full, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadMetrics(filepath.Join(split, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("metrics lines: %d and %d, want 4", len(a), len(b))
	}
	for i := range a {
		if a[i].Loss != b[i].Loss || a[i].GradNorm != b[i].GradNorm {
			t.Errorf("step %d: uninterrupted loss %v gnorm %v, resumed %v %v", a[i].Step, a[i].Loss, a[i].GradNorm, b[i].Loss, b[i].GradNorm)
		}
	}

	// The checkpoint trained the norm; freezing it as well is refused.
	c := testConfig(t, "train.steps=4", "train.eval_every=0", "train.checkpoint_every=2")
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze(func(name string) bool { return isFrozenPart(name) || name == "norm.weight" })
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Config: c, RunDir: split, Resume: true, Train: ds.TrainBatches(c), Model: m})
	if err == nil || !strings.Contains(err.Error(), checkpoint.OptimizerFile) || !strings.Contains(err.Error(), "exp_avg.norm.weight") {
		t.Errorf("resuming with another frozen set: %v", err)
	}
}

// TestAllFrozenRefused: a model with nothing to train is an error that says so.
func TestAllFrozenRefused(t *testing.T) {
	c := testConfig(t)
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Freeze(func(string) bool { return true })
	_, err = New(Options{Config: c, RunDir: t.TempDir(), Model: m})
	if err == nil || !strings.Contains(err.Error(), "frozen, nothing to train") {
		t.Errorf("all frozen: %v", err)
	}
}

// TestLoadModelTensorsPartial: a subset of the tensors loads partially (the
// rest keep their values and are reported), and is refused strictly with the
// first missing tensor and the file named.
func TestLoadModelTensorsPartial(t *testing.T) {
	c := testConfig(t, "moe.router.type=sigmoid", "moe.router.expert_bias=true", "moe.load_balancing_type=none")
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	sub := map[string]*autograd.Tensor{}
	var want []string
	for _, p := range m.Params() {
		if strings.HasPrefix(p.Name, "layers.1.self_attn.") {
			q := p.Clone()
			for i := range q.F32() {
				q.F32()[i] = 0.5
			}
			sub[p.Name] = q
		} else {
			want = append(want, p.Name)
		}
	}
	slices.Sort(want)
	sub[expertBiasName(1)] = autograd.FromSlice([]float32{1, 2, 3, 4}, 4)
	keep := m.Blocks[0].Attn.Q.W.At(0)

	_, err = LoadModelTensors(m, sub, "adapter/model.safetensors", checkpoint.AssignOptions{})
	if err == nil || !strings.Contains(err.Error(), "adapter/model.safetensors") || !strings.Contains(err.Error(), "missing") {
		t.Errorf("strict load of a subset: %v", err)
	}
	if m.Blocks[1].Attn.Q.W.At(0) == 0.5 {
		t.Error("the refused strict load copied values")
	}

	missing, err := LoadModelTensors(m, sub, "adapter/model.safetensors", checkpoint.AssignOptions{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, want) {
		t.Errorf("missing = %v, want %v", missing, want)
	}
	if m.Blocks[1].Attn.O.W.At(3) != 0.5 || m.Blocks[0].Attn.Q.W.At(0) != keep {
		t.Error("partial load: loaded or kept values wrong")
	}
	if b := m.Blocks[1].MoE.Router.Bias(); !slices.Equal(b, []float32{1, 2, 3, 4}) {
		t.Errorf("expert bias = %v, want [1 2 3 4]", b)
	}

	// A short expert bias is refused before anything is copied.
	sub[expertBiasName(1)] = autograd.FromSlice([]float32{1, 2}, 2)
	for _, q := range sub {
		for i := range q.Len() {
			q.Set(i, 0.25)
		}
	}
	_, err = LoadModelTensors(m, sub, "adapter/model.safetensors", checkpoint.AssignOptions{Partial: true})
	if err == nil || !strings.Contains(err.Error(), "adapter/model.safetensors") || !strings.Contains(err.Error(), expertBiasName(1)) {
		t.Errorf("short expert bias: %v", err)
	}
	if m.Blocks[1].Attn.O.W.At(3) != 0.5 {
		t.Error("the refused load with a short expert bias copied values")
	}
}
