package plot

import (
	"fmt"
	"image/color"
	"math"

	"github.com/moetrain/moetrain/train"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// newPlot returns an empty chart with the house style: a title, "step" on
// the x axis, a y label, a light grid, and the legend at the top right.
func newPlot(title, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

// addLine adds s as a line in the i-th house colour, with a legend entry
// when name is not empty. An empty series adds nothing.
func addLine(p *gplot.Plot, s plotter.XYs, i int, name string) error {
	if len(s) == 0 {
		return nil
	}
	l, err := plotter.NewLine(s)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.2)
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

// lossPlot draws the total and LM loss, and the validation loss as points
// where it was measured. With logY the y axis is logarithmic, unless some
// value is not positive: then it stays linear and a note says why.
func lossPlot(recs []train.Record, logY bool) (*gplot.Plot, []string, error) {
	p := newPlot("Training loss", "nats / token")
	loss := series(recs, func(r *train.Record) float64 { return r.Loss }, nil)
	lm := series(recs, func(r *train.Record) float64 { return r.LMLoss }, nil)
	val := series(recs, func(r *train.Record) float64 { return *r.ValLoss },
		func(r *train.Record) bool { return r.ValLoss != nil })
	if err := addLine(p, loss, 0, "loss (total)"); err != nil {
		return nil, nil, err
	}
	if err := addLine(p, lm, 1, "lm_loss"); err != nil {
		return nil, nil, err
	}
	if len(val) > 0 {
		sc, err := plotter.NewScatter(val)
		if err != nil {
			return nil, nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: plotutil.Color(2), Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		p.Legend.Add("val_loss", sc)
	}
	var notes []string
	if logY {
		if allPositive(loss, lm, val) {
			p.Y.Scale = gplot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
			p.Y.Label.Text = "nats / token (log scale)"
		} else {
			notes = append(notes, "loss.png: some loss is not positive, so its y axis stays linear")
		}
	}
	return p, notes, nil
}

// logTicks marks a logarithmic axis: decades when the range spans one or
// more, otherwise the usual round values. Ticks outside the range or not
// positive (which a log scale cannot place) are left out.
type logTicks struct{}

// Ticks implements gplot.Ticker.
func (logTicks) Ticks(min, max float64) []gplot.Tick {
	var ts []gplot.Tick
	if min > 0 && max/min >= 10 {
		ts = gplot.LogTicks{Prec: -1}.Ticks(min, max)
	} else {
		ts = gplot.DefaultTicks{}.Ticks(min, max)
	}
	out := ts[:0]
	for _, t := range ts {
		if t.Value > 0 && t.Value >= min && t.Value <= max {
			out = append(out, t)
		}
	}
	return out
}

// auxPlot draws the load-balancing and router z-losses (coefficients applied).
func auxPlot(recs []train.Record) (*gplot.Plot, error) {
	p := newPlot("Auxiliary MoE losses (coefficients applied)", "loss")
	aux := series(recs, func(r *train.Record) float64 { return r.AuxLoss }, nil)
	z := series(recs, func(r *train.Record) float64 { return r.ZLoss }, nil)
	if err := addLine(p, aux, 0, "aux_loss (load balance)"); err != nil {
		return nil, err
	}
	if err := addLine(p, z, 1, "z_loss (router)"); err != nil {
		return nil, err
	}
	return p, nil
}

// lrPlots draws the learning rate and the gradient norm, one chart each, to
// be stacked in one image.
func lrPlots(recs []train.Record) (lr, grad *gplot.Plot, err error) {
	lr = newPlot("Learning rate", "lr")
	if err := addLine(lr, series(recs, func(r *train.Record) float64 { return r.LR }, nil), 0, ""); err != nil {
		return nil, nil, err
	}
	grad = newPlot("Gradient norm (before clipping)", "global L2 norm")
	if err := addLine(grad, series(recs, func(r *train.Record) float64 { return r.GradNorm }, nil), 1, ""); err != nil {
		return nil, nil, err
	}
	return lr, grad, nil
}

// throughputPlot draws training tokens per second and says the mean in its
// title.
func throughputPlot(recs []train.Record) (*gplot.Plot, error) {
	s := series(recs, func(r *train.Record) float64 { return r.TokensPerS }, nil)
	title := "Throughput"
	if len(s) > 0 {
		var sum float64
		for _, pt := range s {
			sum += pt.Y
		}
		title = fmt.Sprintf("Throughput (mean %.0f tokens/s)", sum/float64(len(s)))
	}
	p := newPlot(title, "tokens / s")
	if err := addLine(p, s, 0, ""); err != nil {
		return nil, err
	}
	p.Y.Min = math.Min(p.Y.Min, 0) // from zero, so dips read at their true size
	return p, nil
}
