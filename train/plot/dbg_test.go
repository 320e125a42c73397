package plot

import (
	"fmt"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

func TestDbg(t *testing.T) {
	g, _ := expertLoads(synthRecords(30, []int{0}, 4))
	lc, _ := newLoadScale(g)
	renderPNG(t.TempDir()+"/x.png", 300, 250, func(dc draw.Canvas) {
		bar := gplot.New()
		bar.HideY()
		bar.X.Padding = 0
		bar.X.Label.Text = lc.label
		bar.X.Tick.Marker = barTicks(lc.mid)
		bar.Add(&plotter.ColorBar{ColorMap: lc, Colors: 10})
		fmt.Println(dc.Rectangle, bar.DataCanvas(dc).Rectangle)
		bar.X.Label.Text = "x"
		fmt.Println(dc.Rectangle, bar.DataCanvas(dc).Rectangle)
	})
}
