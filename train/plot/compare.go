package plot

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moetrain/moetrain/train"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The metrics a comparison chart can draw against tokens seen.
const (
	MetricValLoss = "val_loss" // validation loss where it was measured, points joined by lines
	MetricLMLoss  = "lm_loss"  // training next-token cross-entropy at every logged step
	MetricLoss    = "loss"     // total training objective (LM + aux + z) at every logged step
)

// compareMetric is one metric of a comparison chart: how to read it from a
// record and how to draw it.
type compareMetric struct {
	name   string
	value  func(r *train.Record) (float64, bool) // false: the record does not hold it
	points bool                                  // draw a glyph at every value (sparse metrics)
}

var compareMetrics = []compareMetric{
	{MetricValLoss, func(r *train.Record) (float64, bool) {
		if r.ValLoss == nil {
			return 0, false
		}
		return *r.ValLoss, true
	}, true},
	{MetricLMLoss, func(r *train.Record) (float64, bool) { return r.LMLoss, true }, false},
	{MetricLoss, func(r *train.Record) (float64, bool) { return r.Loss, true }, false},
}

// CompareRun is one run of a comparison chart.
type CompareRun struct {
	Label string // legend entry
	Dir   string // where the records came from, for messages
	// Offset is added to every record's token count: where the run starts on
	// the shared axis. A run continued from another (upcycled, or started
	// from its weights) counts its tokens from 0; its offset is the tokens
	// its parent was trained on, so the two lines join.
	Offset  int64
	Records []train.Record // in any order; drawn by step
}

// CompareOptions sizes a comparison chart and picks what it draws; the zero
// value draws validation loss at DefaultWidth × DefaultHeight.
type CompareOptions struct {
	Width, Height int      // pixels; 0 means DefaultWidth, DefaultHeight
	Metrics       []string // of MetricValLoss, MetricLMLoss, MetricLoss; empty means MetricValLoss
	// MinTokens leaves out the points before this many tokens (on the shared
	// axis, offsets applied), so the y axis spans the later, closer losses.
	MinTokens int64
}

// CompareSummary says what the chart drew of one run.
type CompareSummary struct {
	Label              string
	FromTokens, Tokens int64     // the run's first and last x (offset applied)
	Final              []float64 // the last value of each metric, in the order of CompareOptions.Metrics
}

// withDefaults fills in zero sizes and the default metric, and checks the rest.
func (o CompareOptions) withDefaults() (CompareOptions, []compareMetric, error) {
	sized, err := Options{Width: o.Width, Height: o.Height}.withDefaults()
	if err != nil {
		return o, nil, err
	}
	o.Width, o.Height = sized.Width, sized.Height
	if o.MinTokens < 0 {
		return o, nil, fmt.Errorf("plot: minimum tokens %d is negative: give 0 (the whole runs) or more", o.MinTokens)
	}
	if len(o.Metrics) == 0 {
		o.Metrics = []string{MetricValLoss}
	}
	var ms []compareMetric
	seen := map[string]bool{}
	for _, name := range o.Metrics {
		if seen[name] {
			return o, nil, fmt.Errorf("plot: metric %q given twice: name each metric once", name)
		}
		seen[name] = true
		i := metricIndex(name)
		if i < 0 {
			return o, nil, fmt.Errorf("plot: unknown metric %q: use %s, %s or %s", name, MetricValLoss, MetricLMLoss, MetricLoss)
		}
		ms = append(ms, compareMetrics[i])
	}
	return o, ms, nil
}

func metricIndex(name string) int {
	for i, m := range compareMetrics {
		if m.name == name {
			return i
		}
	}
	return -1
}

// WriteCompare draws the chosen metrics of every run against tokens seen
// (record tokens + the run's offset) into one Width × Height PNG at path,
// written atomically, its directory created if needed: one colour per run,
// one line style per metric, a legend entry per line. A run with no finite
// value of a metric (no evaluation logged, for val_loss) is an error naming
// the run, and nothing is written.
func WriteCompare(runs []CompareRun, path string, opt CompareOptions) ([]CompareSummary, error) {
	opt, metrics, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("plot: no runs to compare: give one run directory or more")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("plot: %s is a directory: the comparison chart is one file; give its name, such as %s",
			path, filepath.Join(path, "compare.png"))
	}
	p, sums, err := comparePlot(runs, metrics, opt)
	if err != nil {
		return nil, fmt.Errorf("plot: %s: %w", path, err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
	}
	margin := vg.Points(6)
	err = renderPNG(path, opt.Width, opt.Height, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, margin, -margin, margin/2, -margin/2))
	})
	if err != nil {
		return nil, err
	}
	return sums, nil
}

// comparePlot builds the chart of WriteCompare (opt with its defaults).
// Its errors name the run and carry no package prefix.
func comparePlot(runs []CompareRun, metrics []compareMetric, opt CompareOptions) (*gplot.Plot, []CompareSummary, error) {
	p := newPlot(compareTitle(metrics), "nats / token")
	p.X.Label.Text = "tokens seen"
	p.X.Tick.Marker = tokenTicks{}
	sums := make([]CompareSummary, len(runs))
	var lines []plotter.XYs
	for i, run := range runs {
		if run.Offset < 0 {
			return nil, nil, fmt.Errorf("run %s: token offset %d is negative: give 0 or more", runName(run), run.Offset)
		}
		recs := byStep(run.Records)
		sums[i] = CompareSummary{Label: run.Label, FromTokens: math.MaxInt64, Tokens: math.MinInt64}
		for j, m := range metrics {
			xy := tokenSeries(recs, run.Offset, opt.MinTokens, m.value)
			if len(xy) == 0 {
				return nil, nil, missingMetric(run, m.name, opt.MinTokens)
			}
			sums[i].FromTokens = min(sums[i].FromTokens, int64(xy[0].X))
			sums[i].Tokens = max(sums[i].Tokens, int64(xy[len(xy)-1].X))
			sums[i].Final = append(sums[i].Final, xy[len(xy)-1].Y)
			name := run.Label
			if len(metrics) > 1 {
				name += " (" + m.name + ")"
			}
			if err := addCompareLine(p, xy, i, j, m.points, name); err != nil {
				return nil, nil, fmt.Errorf("run %s: %w", runName(run), err)
			}
			lines = append(lines, xy)
		}
	}
	placeLegend(p, lines, len(lines), opt.Height)
	return p, sums, nil
}

// compareTitle names what the chart shows.
func compareTitle(ms []compareMetric) string {
	if len(ms) == 1 {
		switch ms[0].name {
		case MetricValLoss:
			return "Validation loss against tokens seen"
		case MetricLMLoss:
			return "Training LM loss against tokens seen"
		}
		return "Training loss (total) against tokens seen"
	}
	return "Loss against tokens seen"
}

// tokenSeries returns the points (tokens + offset, value) of recs, which
// must be sorted by step, that hold a finite value at minTokens or later.
func tokenSeries(recs []train.Record, offset, minTokens int64, value func(*train.Record) (float64, bool)) plotter.XYs {
	xy := make(plotter.XYs, 0, len(recs))
	for i := range recs {
		v, ok := value(&recs[i])
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) || recs[i].Tokens+offset < minTokens {
			continue
		}
		xy = append(xy, plotter.XY{X: float64(recs[i].Tokens + offset), Y: v})
	}
	return xy
}

// addCompareLine adds the line of run i and metric j: the run's colour (and,
// past the palette, a glyph shape of its own), the metric's dashes, glyphs
// at the points when points is set.
func addCompareLine(p *gplot.Plot, xy plotter.XYs, i, j int, points bool, name string) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = compareColor(i)
	l.Dashes = plotutil.Dashes(j)
	l.Width = vg.Points(1.2)
	if !points {
		p.Add(l)
		p.Legend.Add(name, l)
		return nil
	}
	l.Width = vg.Points(1.6)
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(2.5), Shape: plotutil.Shape(i)}
	p.Add(l, sc)
	p.Legend.Add(name, l, sc)
	return nil
}

// comparePalette holds the run colours of a comparison chart, picked to
// stay apart from each other on white (the house palette has two reds).
var comparePalette = []color.NRGBA{
	{31, 100, 200, 255},  // blue
	{215, 55, 40, 255},   // red
	{40, 155, 65, 255},   // green
	{240, 145, 20, 255},  // orange
	{125, 60, 170, 255},  // purple
	{20, 170, 190, 255},  // cyan
	{110, 110, 110, 255}, // grey
	{200, 50, 150, 255},  // magenta
}

// compareColor returns the colour of run i; past the palette the colours
// repeat (and the glyph shapes tell the runs apart).
func compareColor(i int) color.Color { return comparePalette[i%len(comparePalette)] }

// missingMetric is the error for a run that holds no value of metric at
// minTokens or later.
func missingMetric(run CompareRun, metric string, minTokens int64) error {
	if minTokens > 0 {
		return fmt.Errorf("run %s has no finite %s at or past %d tokens (its offset is %d): lower the minimum, or leave the run out",
			runName(run), metric, minTokens, run.Offset)
	}
	if metric == MetricValLoss {
		return fmt.Errorf("run %s has no val_loss in its %d records: it never evaluated; train it with train.eval_every at most train.steps (and data with a validation split), or compare a training metric (%s)",
			runName(run), len(run.Records), MetricLMLoss)
	}
	return fmt.Errorf("run %s has no finite %s in its %d records: train it until it logs a step", runName(run), metric, len(run.Records))
}

// runName names a run in messages: its label and, when it differs, its directory.
func runName(run CompareRun) string {
	if run.Dir == "" || run.Dir == run.Label {
		return fmt.Sprintf("%q", run.Label)
	}
	return fmt.Sprintf("%q (%s)", run.Label, run.Dir)
}

// tokenTicks marks a token axis with the usual round values, written short
// (1.5k, 200k, 3M).
type tokenTicks struct{}

// Ticks implements gplot.Ticker.
func (tokenTicks) Ticks(min, max float64) []gplot.Tick {
	ts := gplot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = shortCount(ts[i].Value)
		}
	}
	return ts
}

// shortCount writes n with a k, M or B suffix and at most three significant
// digits: 512, 1.5k, 200k, 3M.
func shortCount(n float64) string {
	units := []string{"", "k", "M", "B"}
	u := 0
	for u < len(units)-1 && math.Abs(n) >= 999.5 { // 999.5 rounds to 1e3: the next unit's 1
		n /= 1000
		u++
	}
	return strconv.FormatFloat(n, 'g', 3, 64) + units[u]
}
