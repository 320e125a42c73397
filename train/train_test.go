package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
)

// testConfig is a very small MoE model on the embedded corpus that trains in
// well under a second per step.
func testConfig(t *testing.T, sets ...string) *configs.Config {
	t.Helper()
	base := []string{
		"model.d_model=32", "model.n_layers=2", "model.n_heads=2", "model.n_kv_heads=1", "model.ffn_hidden_size=64",
		"model.max_seq_len=32", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=32",
		"train.seq_len=32", "train.micro_batch_size=4", "train.steps=12", "train.warmup_steps=2",
		"train.log_every=1", "train.eval_every=6", "train.eval_batches=2", "train.checkpoint_every=5", "train.keep_last=5",
		"moe.router.jitter_eps=0.01",
	}
	c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: append(base, sets...)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runTraining(t *testing.T, c *configs.Config, dir string, resume bool, stopAt int) *Result {
	t.Helper()
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := runOn(t, c, dir, resume, stopAt, ds.TrainBatches(c), ds.EvalSet(c))
	return res
}

// runOn trains c in dir on the given batches, stopping after stopAt steps when stopAt > 0, and
// returns the result and the trainer.
func runOn(t *testing.T, c *configs.Config, dir string, resume bool, stopAt int, train Batches, val EvalSet) (*Result, *Trainer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := Options{Config: c, RunDir: dir, Resume: resume, Train: train, Val: val}
	if stopAt > 0 {
		opts.OnStep = func(step int) {
			if step == stopAt {
				cancel()
			}
		}
	}
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res, tr
}

// TestResumeIsExact: a run interrupted at step 7 and resumed reproduces the
// per-step losses of an uninterrupted run bit for bit.
func TestResumeIsExact(t *testing.T) {
	c := testConfig(t)
	full, split := t.TempDir(), t.TempDir()
	runTraining(t, c, full, false, 0)
	res := runTraining(t, c, split, false, 7)
	if !res.Interrupted || res.Steps != 7 {
		t.Fatalf("interrupted run: %+v", res)
	}
	if got := runTraining(t, c, split, true, 0); got.Steps != 12 {
		t.Fatalf("resumed run ended at step %d", got.Steps)
	}
	a, err := ReadMetrics(filepath.Join(full, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadMetrics(filepath.Join(split, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 12 || len(b) != 12 {
		t.Fatalf("metrics lines: uninterrupted %d, resumed %d, want 12 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Step != b[i].Step || a[i].Loss != b[i].Loss || a[i].GradNorm != b[i].GradNorm || a[i].Tokens != b[i].Tokens {
			t.Errorf("step %d: uninterrupted loss %v gnorm %v, resumed step %d loss %v gnorm %v",
				a[i].Step, a[i].Loss, a[i].GradNorm, b[i].Step, b[i].Loss, b[i].GradNorm)
		}
	}
	if (a[5].ValLoss == nil) || (b[5].ValLoss == nil) || *a[5].ValLoss != *b[5].ValLoss {
		t.Errorf("val loss at step 6 differs or is missing")
	}
}

// TestMetricsRecords: every logged line has the documented fields and the
// loss falls on the embedded corpus.
func TestMetricsRecords(t *testing.T) {
	c := testConfig(t, "train.steps=30", "train.lr=3e-3", "train.checkpoint_every=0")
	dir := t.TempDir()
	runTraining(t, c, dir, false, 0)
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(raw), "\n", 2)[0]
	for _, key := range []string{"step", "loss", "lm_loss", "aux_loss", "z_loss", "lr", "grad_norm", "tokens_per_s", "tokens", "expert_load"} {
		if !strings.Contains(first, `"`+key+`":`) {
			t.Errorf("metrics line lacks %q: %s", key, first)
		}
	}
	recs, _ := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if len(recs) != 30 {
		t.Fatalf("%d records, want 30", len(recs))
	}
	if len(recs[0].ExpertLoad) != 2 || len(recs[0].ExpertLoad[0]) != 4 {
		t.Errorf("expert_load shape %d x ?, want 2 MoE layers x 4 experts", len(recs[0].ExpertLoad))
	}
	if !(recs[29].LMLoss < recs[0].LMLoss-0.5) {
		t.Errorf("loss did not fall: %.3f -> %.3f", recs[0].LMLoss, recs[29].LMLoss)
	}
}

// TestNonFiniteGuard: a model that produces NaN is skipped step by step and
// the run stops after MaxBadSteps with a message naming what went non-finite,
// leaving the last good checkpoint in place.
func TestNonFiniteGuard(t *testing.T) {
	c := testConfig(t, "train.steps=20", "train.checkpoint_every=2", "train.eval_every=0")
	dir := t.TempDir()
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	var tr *Trainer
	tr, err = New(Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c), OnStep: func(step int) {
		if step == 4 { // poison the embeddings after the checkpoint of step 4
			for i := range tr.Model().Embed.Table.F32() {
				tr.Model().Embed.Table.F32()[i] = float32(math.NaN())
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(context.Background())
	if err == nil {
		t.Fatal("run with NaN weights succeeded")
	}
	for _, want := range []string{"5 consecutive steps were non-finite", "logits", "last good checkpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest"))
	if err != nil || strings.TrimSpace(string(latest)) != "step-00000004" {
		t.Errorf("latest = %q (%v), want step-00000004", latest, err)
	}
}

// TestUnsupportedSettingsRefused: settings that validate but this version
// cannot run, or that this trainer cannot run alone, are refused up front
// with the key and the way out.
func TestUnsupportedSettingsRefused(t *testing.T) {
	for set, want := range map[string]string{
		"train.precision=bf16":  "use --set train.precision=fp32",
		"parallel.world_size=2": "start multi-rank runs with RunLocal or RunRank",
	} {
		c := testConfig(t, set)
		_, err := New(Options{Config: c, RunDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %q", set, err, want)
		}
	}
}

// TestDropoutTrainsAndEvalIsDeterministic: with dropout on, training still
// learns, and evaluation (no dropout) is repeatable.
func TestDropoutTrainsAndEvalIsDeterministic(t *testing.T) {
	c := testConfig(t, "train.dropout=0.2", "train.steps=20", "train.lr=3e-3", "train.checkpoint_every=0", "train.eval_every=0")
	dir := t.TempDir()
	runTraining(t, c, dir, false, 0)
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !(recs[len(recs)-1].LMLoss < recs[0].LMLoss) {
		t.Errorf("loss with dropout did not fall: %v -> %v", recs[0].LMLoss, recs[len(recs)-1].LMLoss)
	}
	_, m, _, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	toks, _, _ := LoadTokens(c)
	a, b := EvalTokens(m, toks[:200], 2, 32), EvalTokens(m, toks[:200], 2, 32)
	if a != b {
		t.Errorf("eval not repeatable: %+v vs %+v", a, b)
	}
}

// TestEvalRunsOffTheLogGrid: an eval_every that is not a multiple of
// log_every still evaluates, on its own logged line.
func TestEvalRunsOffTheLogGrid(t *testing.T) {
	c := testConfig(t, "train.steps=10", "train.log_every=4", "train.eval_every=3", "train.checkpoint_every=0")
	dir := t.TempDir()
	runTraining(t, c, dir, false, 0)
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var evals []int
	for _, r := range recs {
		if r.ValLoss != nil {
			evals = append(evals, r.Step)
		}
	}
	if len(evals) != 3 || evals[0] != 3 || evals[1] != 6 || evals[2] != 9 {
		t.Errorf("evaluated at steps %v, want [3 6 9]", evals)
	}
}
