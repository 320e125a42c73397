package plot

import (
	"fmt"
	"image"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// loadRaster paints g over the steps [x0, x1) as a w × (E·k) image: one
// pixel column per pixelColumns entry, k pixel rows per expert, expert 0 at
// the bottom. Columns outside the logged steps stay transparent.
func loadRaster(g *layerLoad, lc *loadScale, x0, x1 float64, w, k int) *image.RGBA {
	e := g.experts()
	img := image.NewRGBA(image.Rect(0, 0, w, e*k))
	for px, row := range pixelColumns(g, x0, x1, w) {
		if row == nil {
			continue
		}
		for ex, v := range row {
			c := lc.color(v)
			top := (e - 1 - ex) * k
			for y := top; y < top+k; y++ {
				img.Set(px, y, c)
			}
		}
	}
	return img
}

// expertTicks labels expert rows: every one up to 16 experts, otherwise
// about eight evenly spaced ones with unlabelled ticks between.
func expertTicks(e int) gplot.Ticker {
	every := 1
	if e > 16 {
		every = (e + 7) / 8
	}
	return gplot.TickerFunc(func(_, _ float64) []gplot.Tick {
		ts := make([]gplot.Tick, e)
		for i := range ts {
			ts[i].Value = float64(i)
			if i%every == 0 {
				ts[i].Label = fmt.Sprint(i)
			}
		}
		return ts
	})
}

// layerPlot is the heat map of one MoE layer over the steps [x0, x1),
// rasterised at w pixels across and about h pixels high.
func layerPlot(g *layerLoad, lc *loadScale, x0, x1 float64, w, h int, xLabel bool) *gplot.Plot {
	e := g.experts()
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("MoE layer %d: expert load (%d experts)", g.layer, e)
	p.Y.Label.Text = "expert"
	if xLabel {
		p.X.Label.Text = "step"
	}
	p.X.Padding, p.Y.Padding = 0, 0
	p.Y.Tick.Marker = expertTicks(e)
	k := max(1, (h+e-1)/e)
	p.Add(plotter.NewImage(loadRaster(g, lc, x0, x1, w, k), x0, -0.5, x1, float64(e)-0.5))
	return p
}

// drawExpertLoad draws one heat map per layer, stacked top to bottom, above
// a colour bar barH high. w and layerH are the pixel sizes of one panel.
func drawExpertLoad(dc draw.Canvas, layers []*layerLoad, lc *loadScale, w, layerH int, barH vg.Length) {
	x0, x1 := math.Inf(1), math.Inf(-1)
	for _, g := range layers {
		edges := cellEdges(g.steps)
		x0, x1 = math.Min(x0, edges[0]), math.Max(x1, edges[len(edges)-1])
	}
	plots := make([][]*gplot.Plot, len(layers))
	for i, g := range layers {
		plots[i] = []*gplot.Plot{layerPlot(g, lc, x0, x1, w, layerH, i == len(layers)-1)}
	}
	pad := vg.Points(8)
	panels := draw.Crop(dc, 0, 0, barH, 0)
	tiles := draw.Tiles{Rows: len(layers), Cols: 1, PadY: pad, PadTop: pad / 2, PadRight: 2 * pad, PadLeft: pad / 2}
	for i, row := range gplot.Align(plots, tiles, panels) {
		plots[i][0].Draw(row[0])
	}

	bar := gplot.New()
	bar.HideY()
	bar.X.Padding = 0
	bar.Title.Text = lc.label // as an x label, long text would narrow the bar
	bar.X.Tick.Marker = barTicks(lc.mid)
	bar.Add(&plotter.ColorBar{ColorMap: lc, Colors: 256})
	strip := draw.Crop(dc, 0, 0, 0, barH-(dc.Max.Y-dc.Min.Y))
	bar.Draw(draw.Crop(strip, 6*pad, -6*pad, pad/2, -pad))
}

// barTicks marks the colour bar with round values and, when mid is a
// number, the balanced load mid itself.
func barTicks(mid float64) gplot.Ticker {
	return gplot.TickerFunc(func(min, max float64) []gplot.Tick {
		ts := gplot.DefaultTicks{}.Ticks(min, max)
		if math.IsNaN(mid) {
			return ts
		}
		out := []gplot.Tick{{Value: mid, Label: fmt.Sprintf("%.3g", mid)}}
		for _, t := range ts {
			// Drop round labels that would crowd the balanced one.
			if t.Label != "" && math.Abs(t.Value-mid) < (max-min)/8 {
				t.Label = ""
			}
			out = append(out, t)
		}
		return out
	})
}
