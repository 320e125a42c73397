package plot

// Mutations caught: removing the checkExpertLoadSize call in Write makes
// TestAbsurdLayerCountRefused fail (it allocates a 960×20-million pixel image:
// out of memory under ulimit -v); removing the checkChartSize call in
// withDefaults makes TestHugeChartRefused fail the same way; counting only
// the final image and not the rasters makes TestManyExpertsRefused fail
// (after minutes of drawing a million-pixel-high raster).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAbsurdLayerCountRefused: metrics claiming 100,000 MoE layers (one
// small row each, a file of a few MB) are refused by what they hold, before
// the heat maps are allocated; the line charts are still written.
func TestAbsurdLayerCountRefused(t *testing.T) {
	recs := synthRecords(3, nil, 0)
	const layers = 100_000
	r := &recs[2]
	for l := range layers {
		r.MoELayers = append(r.MoELayers, l)
		r.ExpertLoad = append(r.ExpertLoad, []float64{0.5, 0.5})
	}
	dir := t.TempDir()
	rep, err := Write(recs, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "100000 MoE layers") || !strings.Contains(err.Error(), "expert_load.png") ||
		!strings.Contains(err.Error(), "--layer-height") {
		t.Fatalf("100000 layers: %v, want a refusal naming the layer count, the chart and what to lower", err)
	}
	if len(rep.Files) != 4 {
		t.Fatalf("line charts written %v, want the four of them", rep.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, "expert_load.png")); !os.IsNotExist(err) {
		t.Fatalf("expert_load.png written despite the refusal (%v)", err)
	}
	// A real model's layer count still draws.
	ok := synthRecords(4, []int{0, 1, 2, 3, 4, 5}, 8)
	if _, err := Write(ok, t.TempDir(), Options{}); err != nil {
		t.Fatalf("6 layers of 8 experts: %v", err)
	}
}

// TestManyExpertsRefused: few layers claiming a million experts each would
// need rasters a million pixels high; refused by the same bound.
func TestManyExpertsRefused(t *testing.T) {
	recs := synthRecords(2, nil, 0)
	row := make([]float64, 1_000_000)
	for i := range row {
		row[i] = 1e-6
	}
	recs[1].MoELayers = []int{0}
	recs[1].ExpertLoad = [][]float64{row}
	_, err := Write(recs, t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "1000000 experts") {
		t.Fatalf("a million experts: %v, want a refusal naming the count", err)
	}
}

// TestHugeChartRefused: --width and --height whose product exceeds
// MaxPixels are refused before any allocation.
func TestHugeChartRefused(t *testing.T) {
	_, err := Write(synthRecords(3, nil, 0), t.TempDir(), Options{Width: 100_000, Height: 100_000})
	if err == nil || !strings.Contains(err.Error(), "100000×100000") || !strings.Contains(err.Error(), "--width") {
		t.Fatalf("100000×100000 charts: %v", err)
	}
}
