package plot

import (
	"math"
	"sort"

	"github.com/moetrain/moetrain/train"
	"gonum.org/v1/plot/plotter"
)

// byStep returns a copy of recs sorted by step (stable, so records of one
// step keep their order).
func byStep(recs []train.Record) []train.Record {
	out := append([]train.Record(nil), recs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out
}

// series returns the points (step, f(r)) of recs for which ok(r) holds and
// f(r) is finite.
func series(recs []train.Record, f func(*train.Record) float64, ok func(*train.Record) bool) plotter.XYs {
	xy := make(plotter.XYs, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if ok != nil && !ok(r) {
			continue
		}
		v := f(r)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		xy = append(xy, plotter.XY{X: float64(r.Step), Y: v})
	}
	return xy
}

// allPositive reports whether every y of every series is > 0, so the series
// can go on a log-scale axis.
func allPositive(ss ...plotter.XYs) bool {
	for _, s := range ss {
		for _, p := range s {
			if !(p.Y > 0) {
				return false
			}
		}
	}
	return true
}
