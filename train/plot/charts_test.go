package plot

import (
	"math"
	"testing"

	"github.com/moetrain/moetrain/train"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

func TestSeriesSkipsNonFinite(t *testing.T) {
	recs := []train.Record{{Step: 1, Loss: 3}, {Step: 2, Loss: math.NaN()}, {Step: 3, Loss: math.Inf(1)}, {Step: 4, Loss: 2}}
	got := series(recs, func(r *train.Record) float64 { return r.Loss }, nil)
	want := plotter.XYs{{X: 1, Y: 3}, {X: 4, Y: 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("series = %v, want %v", got, want)
	}
	only := series(recs, func(r *train.Record) float64 { return r.Loss }, func(r *train.Record) bool { return r.Step > 3 })
	if len(only) != 1 || only[0] != want[1] {
		t.Errorf("filtered series = %v, want %v", only, want[1:])
	}
}

func TestLossPlotScale(t *testing.T) {
	pos := synthRecords(20, nil, 0)
	zero := synthRecords(20, nil, 0)
	v := 0.0
	zero[3].ValLoss = &v
	tests := []struct {
		name    string
		recs    []train.Record
		logY    bool
		wantLog bool
		notes   int
	}{
		{"linear by default", pos, false, false, 0},
		{"log when asked", pos, true, true, 0},
		{"linear when a value is not positive", zero, true, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, notes, err := lossPlot(tt.recs, tt.logY)
			if err != nil {
				t.Fatal(err)
			}
			_, isLog := p.Y.Scale.(gplot.LogScale)
			if isLog != tt.wantLog || len(notes) != tt.notes {
				t.Errorf("log scale %v with notes %q, want %v with %d", isLog, notes, tt.wantLog, tt.notes)
			}
		})
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		want     []string // labels in order
	}{
		{0.5, 20, []string{"1", "10"}},
		{2, 8, []string{"2", "4", "6", "8"}},
		{0, 8, []string{"4", "8"}}, // no tick at or below zero
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range (logTicks{}).Ticks(tt.min, tt.max) {
			if tk.Value <= 0 {
				t.Errorf("[%g, %g]: tick at %g", tt.min, tt.max, tk.Value)
			}
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("[%g, %g]: labels %v, want %v", tt.min, tt.max, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("[%g, %g]: labels %v, want %v", tt.min, tt.max, got, tt.want)
				break
			}
		}
	}
}
