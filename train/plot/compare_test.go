package plot

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/train"
)

// hasColour reports whether some pixel of img is exactly c.
func hasColour(img image.Image, c color.Color) bool {
	wr, wg, wb, _ := c.RGBA()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == wr>>8 && g>>8 == wg>>8 && bl>>8 == wb>>8 {
				return true
			}
		}
	}
	return false
}

// lastVal returns the validation loss of the last record that has one.
func lastVal(recs []train.Record) float64 {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].ValLoss != nil {
			return *recs[i].ValLoss
		}
	}
	return math.NaN()
}

func TestWriteCompare(t *testing.T) {
	parent := synthRecords(20, nil, 0)     // 200 steps, 1024 tokens a step: ends at 204800 tokens
	child := synthRecords(10, []int{0}, 4) // continues it: its own tokens count from 0
	scratch := synthRecords(30, []int{0}, 4)
	runs := []CompareRun{
		{Label: "dense", Records: parent},
		{Label: "upcycled", Records: child, Offset: parent[len(parent)-1].Tokens},
		{Label: "scratch", Records: scratch},
	}
	tests := []struct {
		name    string
		opt     CompareOptions
		w, h    int
		metrics int
	}{
		{"defaults: val_loss", CompareOptions{}, DefaultWidth, DefaultHeight, 1},
		{"val and training loss, custom size", CompareOptions{Width: 640, Height: 400, Metrics: []string{MetricValLoss, MetricLMLoss}}, 640, 400, 2},
		{"total loss only", CompareOptions{Width: 300, Height: 200, Metrics: []string{MetricLoss}}, 300, 200, 1},
		{"from the parent's end", CompareOptions{MinTokens: 204800}, DefaultWidth, DefaultHeight, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "compare.png")
			sums, err := WriteCompare(runs, path, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkDir(t, filepath.Join(dir, "sub"), "compare.png")
			img := decodePNG(t, path)
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Errorf("compare.png is %d×%d, want %d×%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
			for i := range runs {
				if !hasColour(img, compareColor(i)) {
					t.Errorf("no pixel has run %d's colour %v: its line is missing", i, compareColor(i))
				}
			}
			if len(sums) != len(runs) {
				t.Fatalf("%d summaries for %d runs", len(sums), len(runs))
			}
			for i, s := range sums {
				if s.Label != runs[i].Label || len(s.Final) != tt.metrics {
					t.Errorf("summary %d = %+v, want label %q and %d finals", i, s, runs[i].Label, tt.metrics)
				}
			}
			// The continued run starts where its parent ended and ends
			// its own tokens later.
			up := sums[1]
			first, last := child[0].Tokens, child[len(child)-1].Tokens
			if tt.opt.Metrics == nil { // val_loss: the first point is the first evaluation
				first = 50 * 1024
			}
			if up.FromTokens != 204800+first || up.Tokens != 204800+last {
				t.Errorf("continued run spans tokens %d..%d, want %d..%d", up.FromTokens, up.Tokens, 204800+first, 204800+last)
			}
			if tt.opt.MinTokens > 0 {
				for i, s := range sums {
					if s.FromTokens < tt.opt.MinTokens {
						t.Errorf("run %d starts at %d tokens, before the minimum %d", i, s.FromTokens, tt.opt.MinTokens)
					}
				}
				if sums[0].FromTokens != 204800 || sums[0].Tokens != 204800 {
					t.Errorf("the parent past its end spans %d..%d, want its last evaluation at 204800 alone", sums[0].FromTokens, sums[0].Tokens)
				}
			}
			if tt.opt.Metrics == nil && sums[2].Final[0] != lastVal(scratch) {
				t.Errorf("scratch final val_loss %g, want %g", sums[2].Final[0], lastVal(scratch))
			}
			if tt.metrics == 2 && sums[0].Final[1] != parent[len(parent)-1].LMLoss {
				t.Errorf("dense final lm_loss %g, want %g", sums[0].Final[1], parent[len(parent)-1].LMLoss)
			}
		})
	}
}

func TestWriteCompareErrors(t *testing.T) {
	noVal := synthRecords(4, nil, 0) // 40 steps: no evaluation at step 50
	good := synthRecords(10, nil, 0)
	nanLoss := synthRecords(3, nil, 0)
	for i := range nanLoss {
		nanLoss[i].LMLoss = math.NaN()
	}
	tests := []struct {
		name string
		runs []CompareRun
		opt  CompareOptions
		want []string
	}{
		{"run without val points", []CompareRun{{Label: "a", Records: good}, {Label: "short", Dir: "runs/short", Records: noVal}},
			CompareOptions{}, []string{`run "short" (runs/short)`, "no val_loss", "train.eval_every", "lm_loss"}},
		{"run without finite training loss", []CompareRun{{Label: "nan", Records: nanLoss}}, CompareOptions{Metrics: []string{MetricLMLoss}},
			[]string{`run "nan"`, "no finite lm_loss"}},
		{"unknown metric", []CompareRun{{Label: "a", Records: good}}, CompareOptions{Metrics: []string{"val_los"}},
			[]string{`unknown metric "val_los"`, "val_loss, lm_loss or loss"}},
		{"metric twice", []CompareRun{{Label: "a", Records: good}}, CompareOptions{Metrics: []string{MetricLoss, MetricLoss}},
			[]string{`metric "loss" given twice`}},
		{"negative offset", []CompareRun{{Label: "a", Records: good, Offset: -5}}, CompareOptions{}, []string{`run "a"`, "offset -5 is negative"}},
		{"nothing past the minimum", []CompareRun{{Label: "a", Records: good, Offset: 7}}, CompareOptions{MinTokens: 1 << 20},
			[]string{`run "a"`, "no finite val_loss at or past 1048576 tokens (its offset is 7)"}},
		{"negative minimum", []CompareRun{{Label: "a", Records: good}}, CompareOptions{MinTokens: -1}, []string{"minimum tokens -1 is negative"}},
		{"no runs", nil, CompareOptions{}, []string{"no runs to compare"}},
		{"too small", []CompareRun{{Label: "a", Records: good}}, CompareOptions{Width: 100}, []string{"too small"}},
	}
	dirOut := t.TempDir()
	if _, err := WriteCompare([]CompareRun{{Label: "a", Records: good}}, dirOut, CompareOptions{}); err == nil ||
		!strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), filepath.Join(dirOut, "compare.png")) {
		t.Errorf("a directory as the chart's path: err = %v, want one saying it is a directory and naming a file in it", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			_, err := WriteCompare(tt.runs, filepath.Join(dir, "c.png"), tt.opt)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "plot:") != 1 {
				t.Errorf("error %q: want one plot: prefix", err)
			}
			if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
				t.Errorf("output dir created despite the error")
			}
		})
	}
}

func TestLoadCompareRuns(t *testing.T) {
	parent := synthRecords(20, nil, 0)
	a := writeMetrics(t, parent)
	b := writeMetrics(t, synthRecords(10, []int{0}, 4))
	runs, err := LoadCompareRuns([]string{a, b}, []string{"dense", "copy"}, []string{"0", a})
	if err != nil {
		t.Fatal(err)
	}
	if runs[0].Label != "dense" || runs[1].Label != "copy" || runs[1].Dir != b || len(runs[1].Records) != 10 {
		t.Errorf("runs = %+v", runs)
	}
	if runs[0].Offset != 0 || runs[1].Offset != parent[len(parent)-1].Tokens {
		t.Errorf("offsets %d, %d; want 0 and the parent's last tokens %d", runs[0].Offset, runs[1].Offset, parent[len(parent)-1].Tokens)
	}
	runs, err = LoadCompareRuns([]string{a, b}, nil, []string{"1000", " 7 "})
	if err != nil {
		t.Fatal(err)
	}
	if runs[0].Offset != 1000 || runs[1].Offset != 7 {
		t.Errorf("integer offsets read as %d, %d", runs[0].Offset, runs[1].Offset)
	}
	if runs[0].Label != filepath.Base(a) {
		t.Errorf("default label %q, want the base name %q", runs[0].Label, filepath.Base(a))
	}
}

func TestParseTokens(t *testing.T) {
	dir := writeMetrics(t, synthRecords(20, nil, 0))
	if n, err := ParseTokens(dir); err != nil || n != 204800 {
		t.Errorf("ParseTokens(run) = %d, %v; want its last tokens 204800", n, err)
	}
	if n, err := ParseTokens("4096"); err != nil || n != 4096 {
		t.Errorf("ParseTokens(4096) = %d, %v", n, err)
	}
	_, err := ParseTokens("-2")
	if err == nil || !strings.HasPrefix(err.Error(), "plot: -2 is negative") {
		t.Errorf("ParseTokens(-2): %v", err)
	}
}

func TestDefaultLabels(t *testing.T) {
	got := defaultLabels([]string{"runs/x/dense", "other/dense/", "runs/copy"})
	want := []string{"runs/x/dense", "other/dense", "copy"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("labels %q, want %q", got, want)
	}
}

func TestLoadCompareRunsErrors(t *testing.T) {
	a := writeMetrics(t, synthRecords(10, nil, 0))
	b := writeMetrics(t, synthRecords(10, nil, 0))
	missing := filepath.Join(t.TempDir(), "gone")
	tests := []struct {
		name            string
		dirs            []string
		labels, offsets []string
		noMetrics       bool
		want            []string
	}{
		{"more labels than runs", []string{a, b}, []string{"x", "y", "z"}, nil, false, []string{"3 labels (x,y,z) for 2 runs"}},
		{"fewer labels than runs", []string{a, b}, []string{"x"}, nil, false, []string{"1 labels (x) for 2 runs"}},
		{"empty label", []string{a, b}, []string{"x", " "}, nil, false, []string{"label 2 of 2", "is empty"}},
		{"offsets count", []string{a, b}, nil, []string{"0"}, false, []string{"1 token offsets (0) for 2 runs"}},
		{"negative offset", []string{a, b}, []string{"x", "y"}, []string{"0", "-3"}, false, []string{`run "y"`, "-3 is negative"}},
		{"offset neither count nor run", []string{a, b}, []string{"x", "y"}, []string{missing, "0"}, true,
			[]string{`run "x"`, `"` + missing + `" is not a token count`, "metrics.jsonl does not exist"}},
		{"missing run", []string{a, missing}, nil, nil, true, []string{missing, "does not exist"}},
		{"no runs", nil, nil, nil, false, []string{"no runs to compare"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCompareRuns(tt.dirs, tt.labels, tt.offsets)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrNoMetrics) != tt.noMetrics {
				t.Errorf("errors.Is(err, ErrNoMetrics) = %v, want %v", !tt.noMetrics, tt.noMetrics)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Count(err.Error(), "plot:") != 1 {
				t.Errorf("error %q: want one plot: prefix", err)
			}
		})
	}
}

func TestShortCount(t *testing.T) {
	tests := []struct {
		n    float64
		want string
	}{
		{0, "0"}, {512, "512"}, {999, "999"}, {1500, "1.5k"}, {204800, "205k"}, {999499, "999k"},
		{999500, "1M"}, {3e6, "3M"}, {2.5e9, "2.5B"}, {-2000, "-2k"},
	}
	for _, tt := range tests {
		if got := shortCount(tt.n); got != tt.want {
			t.Errorf("shortCount(%g) = %q, want %q", tt.n, got, tt.want)
		}
	}
	var labels []string
	for _, tk := range (tokenTicks{}).Ticks(0, 4e5) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 200k 400k" {
		t.Errorf("tick labels over [0, 400000]: %q, want 0 200k 400k", got)
	}
}

// TestCompareJoinsValPoints: validation losses are points joined by lines,
// so a run evaluated only at its two ends still crosses the chart's middle.
func TestCompareJoinsValPoints(t *testing.T) {
	v := 2.0
	recs := []train.Record{{Step: 1, Tokens: 1000, ValLoss: &v}, {Step: 2, Tokens: 100000, ValLoss: &v}}
	path := filepath.Join(t.TempDir(), "c.png")
	if _, err := WriteCompare([]CompareRun{{Label: "two evals", Records: recs}}, path, CompareOptions{Width: 400, Height: 300}); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	mid := img.Bounds().Dx() / 2
	column := image.Rect(mid, 0, mid+1, img.Bounds().Dy())
	if !hasColour(img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(column), compareColor(0)) {
		t.Errorf("column %d has no pixel of the run's colour: the two evaluations are not joined", mid)
	}
}
