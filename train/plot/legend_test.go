package plot

import (
	"testing"

	"github.com/moetrain/moetrain/train"
	"gonum.org/v1/plot/plotter"
)

func TestLegendCorner(t *testing.T) {
	falling := plotter.XYs{{X: 0, Y: 10}, {X: 10, Y: 0}} // top left to bottom right
	rising := plotter.XYs{{X: 0, Y: 0}, {X: 10, Y: 10}}  // bottom left to top right
	flatTop := plotter.XYs{{X: 0, Y: 10}, {X: 10, Y: 10}, {X: 0, Y: 0}}
	tests := []struct {
		name  string
		lines []plotter.XYs
		want  corner
	}{
		{"falling curve: top right", []plotter.XYs{falling}, corner{top: true}},
		{"rising curve: top left, the first empty one after the diagonal's", []plotter.XYs{rising}, corner{top: true, left: true}},
		{"both diagonals and a flat top: bottom", []plotter.XYs{falling, rising, flatTop}, corner{}},
		{"no lines: top right", nil, corner{top: true}},
	}
	for _, tt := range tests {
		if got := legendCorner(tt.lines, 0, 10, 0, 10, 0.3, 0.3); got != tt.want {
			t.Errorf("%s: corner %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := legendCorner([]plotter.XYs{rising}, 5, 5, 0, 10, 0.3, 0.3); got != (corner{top: true}) {
		t.Errorf("an empty x range: corner %+v, want the top right", got)
	}
}

// TestComparePlotPlacesLegend: the comparison chart puts its legend where
// its lines are not.
func TestComparePlotPlacesLegend(t *testing.T) {
	rising := make([]train.Record, 10)
	for i := range rising {
		v := float64(i)
		rising[i] = train.Record{Step: i + 1, Tokens: int64(1000 * (i + 1)), ValLoss: &v}
	}
	opt, metrics, err := CompareOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := comparePlot([]CompareRun{{Label: "rising", Records: rising}}, metrics, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Legend.Top || !p.Legend.Left {
		t.Errorf("legend top %v left %v for a rising line, want the empty top left", p.Legend.Top, p.Legend.Left)
	}
}
