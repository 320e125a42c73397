package plot

import (
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// corner is a place for a legend inside a chart.
type corner struct{ top, left bool }

// legendCorners are the places tried for a comparison chart's legend, best
// first: falling loss curves leave the top right and bottom left empty.
var legendCorners = []corner{{top: true}, {left: true}, {top: true, left: true}, {}}

// placeLegend moves p's legend of n entries to the corner of p's data range
// that the lines of lines cross least, so the legend hides as little as
// possible. heightPx is the chart's height in pixels, to size the legend box.
func placeLegend(p *gplot.Plot, lines []plotter.XYs, n, heightPx int) {
	c := legendCorner(lines, p.X.Min, p.X.Max, p.Y.Min, p.Y.Max, 0.3, math.Min(0.9, float64(18*n+10)/float64(heightPx)))
	p.Legend.Top, p.Legend.Left = c.top, c.left
}

// legendCorner returns the corner of [xmin, xmax] × [ymin, ymax] whose box
// of the fractions w × h of the range holds the fewest points of lines, the
// segments between points sampled too; of equal ones the first in
// legendCorners.
func legendCorner(lines []plotter.XYs, xmin, xmax, ymin, ymax, w, h float64) corner {
	const samples = 8 // points per segment, so a sparse line crossing a corner counts
	dx, dy := xmax-xmin, ymax-ymin
	if !(dx > 0) || !(dy > 0) {
		return legendCorners[0]
	}
	best, bestN := legendCorners[0], math.MaxInt
	for _, c := range legendCorners {
		inside := func(x, y float64) bool {
			fx, fy := (x-xmin)/dx, (y-ymin)/dy
			if c.left {
				fx = 1 - fx
			}
			if !c.top {
				fy = 1 - fy
			}
			return fx >= 1-w && fy >= 1-h
		}
		count := 0
		for _, xy := range lines {
			for i, pt := range xy {
				if inside(pt.X, pt.Y) {
					count++
				}
				if i == 0 {
					continue
				}
				prev := xy[i-1]
				for s := 1; s < samples; s++ {
					f := float64(s) / samples
					if inside(prev.X+f*(pt.X-prev.X), prev.Y+f*(pt.Y-prev.Y)) {
						count++
					}
				}
			}
		}
		if count < bestN {
			best, bestN = c, count
		}
	}
	return best
}
