package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/train"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Default sizes, in pixels.
const (
	DefaultWidth       = 960 // width of every chart
	DefaultHeight      = 540 // height of loss, aux, lr and throughput charts
	DefaultLayerHeight = 200 // height of one MoE layer's panel in expert_load.png
	ColorBarHeight     = 90  // height of the colour-bar strip under the heat maps

	minWidth, minHeight = 240, 160 // smaller charts leave no room for data
	dpi                 = 96
)

// Options sizes and styles the charts; the zero value gives the defaults.
type Options struct {
	Width       int  // pixels across every chart; 0 means DefaultWidth
	Height      int  // pixels high of the line charts; 0 means DefaultHeight
	LayerHeight int  // pixels high of each MoE layer's heat map; 0 means DefaultLayerHeight
	LogLoss     bool // logarithmic y axis on loss.png (when every loss is positive)
}

// withDefaults fills in zero sizes and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Width == 0 {
		o.Width = DefaultWidth
	}
	if o.Height == 0 {
		o.Height = DefaultHeight
	}
	if o.LayerHeight == 0 {
		o.LayerHeight = DefaultLayerHeight
	}
	if o.Width < minWidth || o.Height < minHeight || o.LayerHeight < minHeight {
		return o, fmt.Errorf("plot: chart size %d×%d (heat-map panels %d high) is too small: need width ≥ %d and heights ≥ %d pixels",
			o.Width, o.Height, o.LayerHeight, minWidth, minHeight)
	}
	if err := checkChartSize("each line chart", o.Width, o.Height); err != nil {
		return o, err
	}
	return o, nil
}

// Report says what Write did.
type Report struct {
	Files []string // paths of the PNGs written, in the order written
	Notes []string // charts skipped or adjusted, one sentence each
}

// Run reads RUN_DIR/metrics.jsonl and writes its charts to outDir, which
// defaults to RUN_DIR/plots when empty. See LoadMetrics and Write; a torn
// last line (a run still writing it) is left out, and a note says so.
func Run(runDir, outDir string, opt Options) (Report, error) {
	recs, notes, err := loadMetricsTorn(runDir)
	if err != nil {
		return Report{}, err
	}
	if outDir == "" {
		outDir = filepath.Join(runDir, "plots")
	}
	rep, err := Write(recs, outDir, opt)
	rep.Notes = append(notes, rep.Notes...)
	return rep, err
}

// Write draws the charts of recs into outDir (created if needed): loss.png,
// aux.png, lr.png, throughput.png, each Width × Height, and, unless no record
// has expert_load (a dense run, which a note reports), expert_load.png,
// Width × (LayerHeight·L + ColorBarHeight) for L MoE layers. Records may come
// in any order; they are drawn by step.
func Write(recs []train.Record, outDir string, opt Options) (Report, error) {
	var rep Report
	opt, err := opt.withDefaults()
	if err != nil {
		return rep, err
	}
	if len(recs) == 0 {
		return rep, fmt.Errorf("plot: %w: no records to draw", ErrNoMetrics)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return rep, fmt.Errorf("plot: %w", err)
	}
	recs = byStep(recs)
	save := func(name string, h int, paint func(draw.Canvas)) error {
		path := filepath.Join(outDir, name)
		if err := renderPNG(path, opt.Width, h, paint); err != nil {
			return err
		}
		rep.Files = append(rep.Files, path)
		return nil
	}
	margin := vg.Points(6)
	single := func(p *gplot.Plot) func(draw.Canvas) {
		return func(dc draw.Canvas) { p.Draw(draw.Crop(dc, margin, -margin, margin/2, -margin/2)) }
	}

	loss, notes, err := lossPlot(recs, opt.LogLoss)
	if err != nil {
		return rep, fmt.Errorf("plot: loss.png: %w", err)
	}
	rep.Notes = append(rep.Notes, notes...)
	if err := save("loss.png", opt.Height, single(loss)); err != nil {
		return rep, err
	}
	aux, err := auxPlot(recs)
	if err != nil {
		return rep, fmt.Errorf("plot: aux.png: %w", err)
	}
	if err := save("aux.png", opt.Height, single(aux)); err != nil {
		return rep, err
	}
	lr, grad, err := lrPlots(recs)
	if err != nil {
		return rep, fmt.Errorf("plot: lr.png: %w", err)
	}
	stacked := func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: 2 * margin, PadTop: margin / 2, PadBottom: margin / 2, PadRight: margin, PadLeft: margin}
		ps := [][]*gplot.Plot{{lr}, {grad}}
		for i, row := range gplot.Align(ps, tiles, dc) {
			ps[i][0].Draw(row[0])
		}
	}
	if err := save("lr.png", opt.Height, stacked); err != nil {
		return rep, err
	}
	tput, err := throughputPlot(recs)
	if err != nil {
		return rep, fmt.Errorf("plot: throughput.png: %w", err)
	}
	if err := save("throughput.png", opt.Height, single(tput)); err != nil {
		return rep, err
	}

	layers, notes := expertLoads(recs)
	rep.Notes = append(rep.Notes, notes...)
	if len(layers) == 0 {
		rep.Notes = append(rep.Notes, "expert_load.png: skipped, no record has expert_load (a dense model)")
		return rep, nil
	}
	if err := checkExpertLoadSize(layers, opt.Width, opt.LayerHeight); err != nil {
		return rep, err
	}
	lc, err := newLoadScale(layers)
	if err != nil {
		return rep, err
	}
	h := opt.LayerHeight*len(layers) + ColorBarHeight
	err = save("expert_load.png", h, func(dc draw.Canvas) {
		drawExpertLoad(dc, layers, lc, opt.Width, opt.LayerHeight, pixels(ColorBarHeight))
	})
	return rep, err
}

// pixels converts a pixel count to a length on a canvas of the package's dpi.
func pixels(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// renderPNG paints a w × h pixel image with paint and writes it to path
// atomically. A panic inside the plotting library (it panics on data it
// cannot draw) comes back as an error naming the file.
func renderPNG(path string, w, h int, paint func(draw.Canvas)) (err error) {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(dpi))
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("plot: drawing %s: %v", path, r)
			}
		}()
		paint(draw.New(c))
	}()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.Image()); err != nil {
		return fmt.Errorf("plot: encoding %s: %w", path, err)
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so readers see the old file or the new, never part.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, werr := tmp.Write(data)
	merr := tmp.Chmod(0o644)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, merr, serr, cerr); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
