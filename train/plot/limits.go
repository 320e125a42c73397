package plot

import "fmt"

// MaxPixels bounds the pixels of one chart, and of the heat-map rasters
// behind expert_load.png taken together: 64 Mi pixels, 256 MiB of RGBA.
// Metrics claiming thousands of MoE layers or experts are refused against
// it before anything is allocated.
const MaxPixels = 1 << 26

// checkChartSize refuses a w × h chart over MaxPixels.
func checkChartSize(name string, w, h int) error {
	if int64(w)*int64(h) > MaxPixels {
		return fmt.Errorf("plot: %s would be %d×%d pixels, over the limit of %d Mi pixels: lower --width or --height",
			name, w, h, MaxPixels>>20)
	}
	return nil
}

// checkExpertLoadSize refuses an expert_load.png whose panels (one per MoE
// layer the records hold, each w × max(layerH, E) pixels as rasterised) or
// whole image would exceed MaxPixels, naming what the records claim.
func checkExpertLoadSize(layers []*layerLoad, w, layerH int) error {
	var raster int64
	maxE := 0
	for _, g := range layers {
		e := g.experts()
		maxE = max(maxE, e)
		raster += int64(w) * int64(max(layerH, e))
	}
	total := int64(w) * (int64(layerH)*int64(len(layers)) + ColorBarHeight)
	if raster <= MaxPixels && total <= MaxPixels {
		return nil
	}
	return fmt.Errorf("plot: expert_load.png: the metrics hold expert load for %d MoE layers of up to %d experts; at %d pixels per layer and %d across that is %d Mi pixels, over the limit of %d Mi: check that metrics.jsonl is this run's, or lower --layer-height and --width",
		len(layers), maxE, layerH, w, max(raster, total)>>20, MaxPixels>>20)
}
