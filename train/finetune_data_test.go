package train

// Fine-tuning data in the trainer. Mutations caught (each tried):
//   - LoadFinetuneData ignoring data.val_fraction: TestLoadFinetuneData (validation documents),
//     TestFinetuneEvalSet, TestFinetuneResumeIsExact.
//   - data.format text mapped to auto: TestLoadFinetuneData (data.format text reads prompt
//     records).
//   - TrainBatches seeded with 0 instead of train.seed: TestFinetuneBatches (two seeds, one order).
//   - EvalSet returned when no document is held out: TestFinetuneEvalSet.
//   - a step's tokens counting every position (len(targets)): TestFinetuneRunTokensAreTrained and
//     the step tests.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/data"
)

// sumRecords writes n prompt/completion records "a+b=" -> "c" and returns the file, the
// completion bytes of each record and the prompt bytes of each.
func sumRecords(t *testing.T, n int) (path string, completions, prompts []int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		p, c := fmt.Sprintf("what is %d+%d? ", i, 2*i), strconv.Itoa(3*i)
		fmt.Fprintf(&b, "{\"prompt\": %q, \"completion\": %q}\n", p, c)
		completions, prompts = append(completions, len(c)), append(prompts, len(p))
	}
	path = filepath.Join(t.TempDir(), "sums.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, completions, prompts
}

// finetuneConfig is testConfig reading the fine-tuning file path with windows of 16 tokens.
func finetuneConfig(t *testing.T, path string, sets ...string) *configs.Config {
	t.Helper()
	return testConfig(t, append([]string{"data.path=" + path, "train.seq_len=16", "data.val_fraction=0.1"}, sets...)...)
}

func TestIgnoreTargetIsIgnoreIndex(t *testing.T) {
	if data.IgnoreTarget != IgnoreIndex {
		t.Fatalf("data.IgnoreTarget %d, train.IgnoreIndex %d: the loss would train on masked positions", data.IgnoreTarget, IgnoreIndex)
	}
}

// TestLoadFinetuneData reads each record format and checks the counts against the records: with
// the byte tokenizer a prompt/completion record trains its completion and its end-of-text byte.
func TestLoadFinetuneData(t *testing.T) {
	path, completions, prompts := sumRecords(t, 40)
	fd, err := LoadFinetuneData(finetuneConfig(t, path))
	if err != nil {
		t.Fatal(err)
	}
	tr, val := fd.Set.TrainCounts(), fd.Set.ValCounts()
	if fd.Format != data.FinetunePromptCompletion || fd.Source != path || fd.Tokenizer.Name() != "byte" {
		t.Errorf("format %q, source %q, tokenizer %s", fd.Format, fd.Source, fd.Tokenizer.Name())
	}
	wantTrained, wantTokens := 0, 0
	for i := range completions {
		wantTrained += completions[i] + 1
		wantTokens += prompts[i] + completions[i] + 1
	}
	if tr.Documents != 36 || val.Documents != 4 || tr.TrainedTokens+val.TrainedTokens != wantTrained || tr.Tokens+val.Tokens != wantTokens {
		t.Errorf("train %v, validation %v; want 36 + 4 documents, %d tokens, %d trained", tr, val, wantTokens, wantTrained)
	}
	sum := fd.Summary()
	for _, want := range []string{path, "prompt_completion", "T=16", "train " + tr.String(), "validation " + val.String()} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary %q lacks %q", sum, want)
		}
	}

	dir := t.TempDir()
	alpaca := filepath.Join(dir, "tasks.jsonl")
	lines := strings.Repeat(`{"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"}`+"\n", 12)
	if err := os.WriteFile(alpaca, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if fd, err := LoadFinetuneData(finetuneConfig(t, alpaca)); err != nil || fd.Format != data.FinetuneAlpaca ||
		fd.Set.TrainCounts().TrainedTokens != 2*fd.Set.TrainCounts().Documents {
		t.Errorf("alpaca: %v, %+v", err, fd)
	}
	text := filepath.Join(dir, "story.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("once upon a time. ", 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err = LoadFinetuneData(finetuneConfig(t, text, "data.val_fraction=0", "train.eval_every=0"))
	if err != nil || fd.Format != data.FinetuneText {
		t.Fatalf("text: %v, %+v", err, fd)
	}
	if c := fd.Set.TrainCounts(); c.Documents != 1 || c.TrainedTokens != c.Tokens-1 {
		t.Errorf("text: %v, want one document trained on every token but the first", c)
	}
	// data.format text reads the text format only: prompt/completion records are refused.
	if _, err := LoadFinetuneData(finetuneConfig(t, path, "data.format=text")); err == nil {
		t.Error("data.format text read prompt/completion records")
	}
}

// TestLoadFinetuneDataErrors: what cannot be fine-tuned on is refused, naming the key or the file.
func TestLoadFinetuneDataErrors(t *testing.T) {
	path, _, _ := sumRecords(t, 10)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"prompt": "a", "completion": "b"}`+"\n"+`{"prompt": "a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	tok, err := data.TrainBPE([]string{strings.Repeat("abab cdcd efef ghgh ", 50)}, 260)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		sets []string
		want string
	}{
		{"no path", []string{"data.path="}, "data.path is empty: fine-tuning reads a file of records"},
		{"parquet", []string{"data.format=parquet"}, `data.format "parquet": fine-tuning reads JSONL records`},
		{"shards", []string{"data.format=shards"}, "set data.format=auto"},
		{"directory", []string{"data.path=" + dir}, "is a directory: fine-tuning reads one file"},
		{"missing", []string{"data.path=" + filepath.Join(dir, "none.jsonl")}, "data.path: "},
		{"bad record", []string{"data.path=" + bad}, "bad.jsonl"},
		{"invalid config", nil, "train.micro_batch_size"},
		{"tokenizer too large", []string{"data.tokenizer=" + tokPath, "model.vocab_size=256"}, "has 260 tokens but model.vocab_size is 256"},
		{"all held out", []string{"data.val_fraction=0.99"}, "leave none for training"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *configs.Config
			if tc.name == "invalid config" { // Load would refuse it; a hand-built one reaches LoadFinetuneData
				c = finetuneConfig(t, path)
				c.Train.MicroBatchSize = 0
			} else {
				c = finetuneConfig(t, path, tc.sets...)
			}
			_, err := LoadFinetuneData(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFinetuneBatches: the batches are [B*T], masked where the loss does not count, shuffled
// from train.seed, and State/Restore continue exactly where they were.
func TestFinetuneBatches(t *testing.T) {
	path, _, _ := sumRecords(t, 60)
	c := finetuneConfig(t, path, "train.micro_batch_size=3")
	fd, err := LoadFinetuneData(c)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(b Batches, n int) (out [][]int32) {
		for range n {
			in, tg := b.Next()
			if len(in) != 3*16 || len(tg) != 3*16 {
				t.Fatalf("batch of %d inputs, %d targets; want 48", len(in), len(tg))
			}
			out = append(out, append(slices.Clone(in), tg...))
		}
		return out
	}
	b := fd.TrainBatches(c)
	draw(b, 5)
	state, err := b.State()
	if err != nil {
		t.Fatal(err)
	}
	next := draw(b, 30) // more than an epoch
	masked, trained := 0, 0
	for _, bt := range next {
		for _, y := range bt[48:] {
			if y == IgnoreIndex {
				masked++
			} else {
				trained++
			}
		}
	}
	if masked == 0 || trained == 0 {
		t.Errorf("%d masked and %d trained targets: prompts must be masked and completions trained", masked, trained)
	}
	again := fd.TrainBatches(c)
	if err := again.Restore(state); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(draw(again, 30), next, slices.Equal[[]int32]) {
		t.Error("restored batches differ from the ones after the saved state")
	}
	other := *c
	other.Train.Seed++
	if slices.EqualFunc(draw(fd.TrainBatches(&other), 5), draw(fd.TrainBatches(c), 5), slices.Equal[[]int32]) {
		t.Error("train.seed does not change the order")
	}
}

// TestFinetuneEvalSet: the validation windows come in batches of train.micro_batch_size, the same
// ones every time; with no held-out document there is no EvalSet.
func TestFinetuneEvalSet(t *testing.T) {
	path, _, _ := sumRecords(t, 80)
	c := finetuneConfig(t, path, "data.val_fraction=0.25", "train.micro_batch_size=4")
	fd, err := LoadFinetuneData(c)
	if err != nil {
		t.Fatal(err)
	}
	ev := fd.EvalSet(c)
	if ev == nil {
		t.Fatal("no EvalSet with a quarter of the documents held out")
	}
	in, tg := ev.Windows(0)
	rows := 0
	for i := range in {
		if len(in[i]) != len(tg[i]) || len(in[i])%16 != 0 || len(in[i]) > 4*16 {
			t.Fatalf("batch %d: %d inputs, %d targets", i, len(in[i]), len(tg[i]))
		}
		rows += len(in[i]) / 16
	}
	if rows != fd.Set.ValWindows() {
		t.Errorf("%d validation rows, want %d windows", rows, fd.Set.ValWindows())
	}
	in2, _ := ev.Windows(2)
	if len(in2) != 2 || !slices.Equal(in2[1], in[1]) {
		t.Error("Windows(2) does not give the first two batches again")
	}
	c0 := finetuneConfig(t, path, "data.val_fraction=0", "train.eval_every=0")
	fd0, err := LoadFinetuneData(c0)
	if err != nil {
		t.Fatal(err)
	}
	if ev := fd0.EvalSet(c0); ev != nil {
		t.Errorf("EvalSet %v with no held-out document, want nil", ev)
	}
	if !strings.Contains(fd0.Summary(), "no validation documents") {
		t.Errorf("summary %q does not say there is no evaluation", fd0.Summary())
	}
}

// finetuneRun trains on fine-tuning data in dir, stopping after stopAt steps when stopAt > 0.
func finetuneRun(t *testing.T, c *configs.Config, dir string, resume bool, stopAt int) (*Result, [][]float64) {
	t.Helper()
	fd, err := LoadFinetuneData(c)
	if err != nil {
		t.Fatal(err)
	}
	res, tr := runOn(t, c, dir, resume, stopAt, fd.TrainBatches(c), fd.EvalSet(c))
	return res, valuesOf(tr.Model().Params())
}

// TestFinetuneResumeIsExact: a fine-tuning run stopped at step 3 and resumed ends with the
// weights, per-step losses, token counts and validation loss of an uninterrupted run, bit for bit.
func TestFinetuneResumeIsExact(t *testing.T) {
	path, _, _ := sumRecords(t, 120)
	c := finetuneConfig(t, path, "train.steps=8", "train.grad_accum_steps=2", "train.micro_batch_size=3",
		"train.checkpoint_every=0", "train.eval_every=4", "train.dropout=0.1")
	full, split := t.TempDir(), t.TempDir()
	_, wFull := finetuneRun(t, c, full, false, 0)
	if res, _ := finetuneRun(t, c, split, false, 3); !res.Interrupted || res.Steps != 3 {
		t.Fatalf("interrupted run: %+v", res)
	}
	res, wSplit := finetuneRun(t, c, split, true, 0)
	if res.Steps != 8 {
		t.Fatalf("resumed run ended at step %d", res.Steps)
	}
	if !slices.EqualFunc(wFull, wSplit, slices.Equal[[]float64]) {
		t.Errorf("resumed weights differ from the uninterrupted run's by %.3g (relative)", relDiff(wSplit, wFull))
	}
	a, errA := ReadMetrics(filepath.Join(full, "metrics.jsonl"))
	b, errB := ReadMetrics(filepath.Join(split, "metrics.jsonl"))
	if err := errors.Join(errA, errB); err != nil {
		t.Fatal(err)
	}
	if len(a) != 8 || len(b) != 8 {
		t.Fatalf("metrics lines: uninterrupted %d, resumed %d, want 8 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Step != b[i].Step || a[i].Loss != b[i].Loss || a[i].GradNorm != b[i].GradNorm || a[i].Tokens != b[i].Tokens {
			t.Errorf("step %d: uninterrupted loss %v tokens %d, resumed step %d loss %v tokens %d",
				a[i].Step, a[i].Loss, a[i].Tokens, b[i].Step, b[i].Loss, b[i].Tokens)
		}
	}
	if a[7].ValLoss == nil || b[7].ValLoss == nil || *a[7].ValLoss != *b[7].ValLoss {
		t.Error("the validation loss at step 8 differs or is missing")
	}
}

// TestFinetuneRunTokensAreTrained: a fine-tuning run's token count is the number of trained
// targets it drew (recounted from the same batches), not B*T per micro-batch.
func TestFinetuneRunTokensAreTrained(t *testing.T) {
	path, _, _ := sumRecords(t, 60)
	c := finetuneConfig(t, path, "train.steps=4", "train.grad_accum_steps=2", "train.micro_batch_size=2",
		"train.checkpoint_every=0", "train.eval_every=0")
	res, _ := finetuneRun(t, c, t.TempDir(), false, 0)
	fd, err := LoadFinetuneData(c)
	if err != nil {
		t.Fatal(err)
	}
	b, want := fd.TrainBatches(c), 0
	for range 4 * 2 {
		_, tg := b.Next()
		want += countTrained(tg)
	}
	if res.Tokens != int64(want) || want >= 4*2*2*16 {
		t.Errorf("the run counted %d tokens; its batches hold %d trained targets of %d", res.Tokens, want, 4*2*2*16)
	}
}
