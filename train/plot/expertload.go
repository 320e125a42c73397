package plot

import (
	"fmt"
	"sort"

	"github.com/moetrain/moetrain/train"
)

// layerLoad is the expert load of one MoE layer over the logged steps.
type layerLoad struct {
	layer int         // index of the layer in the model
	steps []float64   // [S] ascending and distinct
	load  [][]float64 // [S][E] fraction of the layer's kept slots per expert
}

// experts returns E, the number of experts of the layer.
func (g *layerLoad) experts() int { return len(g.load[0]) }

// expertLoads groups the expert_load rows of recs, which must be sorted by
// step, by MoE layer, in layer order. A row is labelled with its entry of
// moe_layers, or with its position when moe_layers does not match. Of
// several records of one step the last wins. Rows whose expert count differs
// from the layer's first row are left out, and a note counts them. The result
// is empty for a dense run.
func expertLoads(recs []train.Record) ([]*layerLoad, []string) {
	byLayer := map[int]*layerLoad{}
	var unlabelled, mismatched int
	for i := range recs {
		r := &recs[i]
		if len(r.ExpertLoad) > 0 && len(r.MoELayers) != len(r.ExpertLoad) {
			unlabelled++
		}
		for l, row := range r.ExpertLoad {
			if len(row) == 0 {
				continue
			}
			id := l
			if len(r.MoELayers) == len(r.ExpertLoad) {
				id = r.MoELayers[l]
			}
			g := byLayer[id]
			if g == nil {
				g = &layerLoad{layer: id}
				byLayer[id] = g
			}
			if len(g.load) > 0 && len(row) != g.experts() {
				mismatched++
				continue
			}
			step := float64(r.Step)
			row = append([]float64(nil), row...)
			if n := len(g.steps); n > 0 && g.steps[n-1] == step {
				g.load[n-1] = row
				continue
			}
			g.steps = append(g.steps, step)
			g.load = append(g.load, row)
		}
	}
	out := make([]*layerLoad, 0, len(byLayer))
	for _, g := range byLayer {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].layer < out[j].layer })
	var notes []string
	if unlabelled > 0 {
		notes = append(notes, fmt.Sprintf("expert_load.png: %d records lack a matching moe_layers list; their layers are numbered by position", unlabelled))
	}
	if mismatched > 0 {
		notes = append(notes, fmt.Sprintf("expert_load.png: left out %d expert_load rows whose expert count differs from earlier rows of their layer", mismatched))
	}
	return out, notes
}

// cellEdges returns the S+1 boundaries of the heat-map columns centred on
// steps: midpoints between neighbours, and half a neighbour gap beyond the
// first and last (half a step each side when there is one column).
func cellEdges(steps []float64) []float64 {
	n := len(steps)
	e := make([]float64, n+1)
	if n == 1 {
		e[0], e[1] = steps[0]-0.5, steps[0]+0.5
		return e
	}
	for i := 1; i < n; i++ {
		e[i] = (steps[i-1] + steps[i]) / 2
	}
	e[0] = steps[0] - (steps[1]-steps[0])/2
	e[n] = steps[n-1] + (steps[n-1]-steps[n-2])/2
	return e
}

// pixelColumns resamples the load of g onto w pixel columns evenly covering
// the steps [x0, x1): column px averages the logged steps that fall in its
// span, or, when none does, takes the logged step whose cell holds its
// centre. A column outside every cell is nil. Each returned row is [E].
func pixelColumns(g *layerLoad, x0, x1 float64, w int) [][]float64 {
	edges := cellEdges(g.steps)
	e := g.experts()
	out := make([][]float64, w)
	span := (x1 - x0) / float64(w)
	for px := range out {
		a, b := x0+float64(px)*span, x0+float64(px+1)*span
		lo := sort.SearchFloat64s(g.steps, a)
		hi := sort.SearchFloat64s(g.steps, b)
		if hi > lo {
			avg := make([]float64, e)
			for _, row := range g.load[lo:hi] {
				for k, v := range row {
					avg[k] += v
				}
			}
			for k := range avg {
				avg[k] /= float64(hi - lo)
			}
			out[px] = avg
			continue
		}
		c := (a + b) / 2
		if c < edges[0] || c >= edges[len(edges)-1] {
			continue
		}
		out[px] = g.load[sort.Search(len(edges), func(i int) bool { return edges[i] > c })-1]
	}
	return out
}
