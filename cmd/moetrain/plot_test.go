package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/train"
)

// writeRun writes a run directory whose metrics.jsonl logs steps 10, 20, ...,
// 10*n at 512 tokens a step, with a validation loss every 50 steps when val
// is set, and returns the directory.
func writeRun(t *testing.T, dir string, n int, val bool) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		r := train.Record{Step: 10 * i, Loss: 5 - float64(i)/10, LMLoss: 4.9 - float64(i)/10, Tokens: int64(5120 * i), ElapsedS: float64(i)}
		if val && r.Step%50 == 0 {
			v := r.LMLoss + 0.05
			r.ValLoss = &v
		}
		line, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPlotCompare: every flag of plot --compare reaches the chart.
func TestPlotCompare(t *testing.T) {
	dir := t.TempDir()
	parent := writeRun(t, filepath.Join(dir, "dense"), 10, true) // ends at 51200 tokens
	child := writeRun(t, filepath.Join(dir, "up"), 5, true)
	png1 := filepath.Join(dir, "charts", "c.png")
	out, errs, code := run(t, "plot", "--compare", parent, child, "--out", png1, "--labels", "base,copy",
		"--offset-tokens", "1000,"+parent, "--metric", "val_loss,lm_loss", "--width", "420", "--height", "300")
	if code != 0 {
		t.Fatalf("plot --compare exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"wrote " + png1 + ": val_loss, lm_loss against tokens seen",
		"base  tokens 6120..52200 (offset 1000)  last val_loss 3.9500  last lm_loss 3.9000", // first lm_loss at 5120 + 1000
		"copy  tokens 56320..76800 (offset 51200)  last val_loss 4.4500  last lm_loss 4.4000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(png1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 420 || b.Dy() != 300 {
		t.Errorf("chart is %d×%d, want 420×300", b.Dx(), b.Dy())
	}

	// Defaults: val_loss only, labels from the directories, no offset, default size.
	png2 := filepath.Join(dir, "d.png")
	out, errs, code = run(t, "plot", "--compare", parent, child, "-o", png2)
	if code != 0 {
		t.Fatalf("plot --compare with defaults exit %d: %s", code, errs)
	}
	want := "dense  tokens 25600..51200 (offset 0)  last val_loss 3.9500\n  up     tokens 25600..25600 (offset 0)  last val_loss 4.4500\n"
	if !strings.Contains(out, want) || strings.Contains(out, "lm_loss") {
		t.Errorf("output with defaults:\n%s\nwant it to hold\n%s", out, want)
	}

	// From where the parent ended: its last evaluation only.
	out, errs, code = run(t, "plot", "--compare", parent, child, "-o", png2, "--offset-tokens", "0,"+parent, "--min-tokens", parent)
	if code != 0 {
		t.Fatalf("plot --compare --min-tokens exit %d: %s", code, errs)
	}
	if want := "dense  tokens 51200..51200 (offset 0)"; !strings.Contains(out, want) {
		t.Errorf("output with --min-tokens:\n%s\nlacks %q", out, want)
	}
}

// TestPlotCompareErrors: bad comparisons exit non-zero naming the problem,
// and write no chart.
func TestPlotCompareErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeRun(t, filepath.Join(dir, "a"), 10, true)
	noVal := writeRun(t, filepath.Join(dir, "noval"), 10, false)
	chart := filepath.Join(dir, "c.png")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plot", "--compare", a, noVal, "--out", chart}, `run "noval" (` + noVal + `) has no val_loss`},
		{[]string{"plot", "--compare", a, noVal, "--out", chart, "--labels", "x,y,z"}, "3 labels (x,y,z) for 2 runs"},
		{[]string{"plot", "--compare", a, "--out", chart, "--offset-tokens", "0,0"}, "2 token offsets (0,0) for 1 runs"},
		{[]string{"plot", "--compare", a, "--out", chart, "--metric", "accuracy"}, `unknown metric "accuracy"`},
		{[]string{"plot", "--compare", a, noVal}, "--compare needs --out FILE.png"},
		{[]string{"plot", "--compare", "--out", chart}, "requires at least 1 arg"},
		{[]string{"plot", "--compare", a, "--out", chart, "--log-loss"}, "--log-loss sets the charts of one run"},
		{[]string{"plot", "--compare", a, "--out", chart, "--layer-height", "300"}, "--layer-height sets the charts of one run"},
		{[]string{"plot", a, "--labels", "x"}, "--labels belongs to a comparison chart: add --compare"},
		{[]string{"plot", a, "--metric", "lm_loss"}, "--metric belongs to a comparison chart"},
		{[]string{"plot", a, "--offset-tokens", "5"}, "--offset-tokens belongs to a comparison chart"},
		{[]string{"plot", a, noVal}, "accepts 1 arg(s), received 2"},
		{[]string{"plot", a, "--min-tokens", "5"}, "--min-tokens belongs to a comparison chart"},
		{[]string{"plot", "--compare", a, "--out", chart, "--min-tokens", "-2"}, "plot: --min-tokens: -2 is negative"},
		{[]string{"plot", "--compare", a, "--out", chart, "--min-tokens", "99999999"}, "no finite val_loss at or past 99999999 tokens"},
	}
	for _, c := range cases {
		_, errs, code := run(t, c.args...)
		if code == 0 {
			t.Errorf("%v exited 0", c.args)
			continue
		}
		if !strings.Contains(errs, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errs, c.want)
		}
		if _, err := os.Stat(chart); !os.IsNotExist(err) {
			t.Fatalf("%v wrote %s despite the error", c.args, chart)
		}
	}
	// A run without evaluations compares on its training loss.
	if _, errs, code := run(t, "plot", "--compare", a, noVal, "--out", chart, "--metric", "lm_loss"); code != 0 {
		t.Errorf("--metric lm_loss of a run without evaluations: exit %d: %s", code, errs)
	}
}

// TestPlotRunDir: plot RUN_DIR still writes the per-run charts.
func TestPlotRunDir(t *testing.T) {
	dir := writeRun(t, filepath.Join(t.TempDir(), "r"), 10, true)
	out, errs, code := run(t, "plot", dir, "--width", "300", "--height", "200")
	if code != 0 {
		t.Fatalf("plot exit %d: %s", code, errs)
	}
	for _, name := range []string{"loss.png", "aux.png", "lr.png", "throughput.png"} {
		if !strings.Contains(out, "wrote "+filepath.Join(dir, "plots", name)) {
			t.Errorf("output lacks %s:\n%s", name, out)
		}
	}
}
