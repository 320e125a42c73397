package plot

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/moetrain/moetrain/train"
)

// synthRecords returns n records logged every 10 steps of a run with the
// given MoE layers of e experts each (none: a dense run). Losses decay,
// validation loss appears every 50 steps, and the expert load drifts from
// skewed to balanced with a per-layer, per-expert pattern.
func synthRecords(n int, moeLayers []int, e int) []train.Record {
	recs := make([]train.Record, n)
	for i := range recs {
		step := (i + 1) * 10
		t := float64(i) / float64(n)
		r := train.Record{
			Step:       step,
			LMLoss:     2 + 6*math.Exp(-5*t),
			AuxLoss:    0.01 * (1 + 0.5*math.Exp(-3*t)),
			ZLoss:      0.001 * (1 + math.Sin(float64(i)/7)/4),
			LR:         3e-4 * math.Min(1, float64(i+1)/20) * (0.55 + 0.45*math.Cos(math.Pi*t)),
			GradNorm:   1 + 2*math.Exp(-4*t) + 0.2*math.Sin(float64(i)),
			TokensPerS: 5000 + 300*math.Sin(float64(i)/5),
			Tokens:     int64(step) * 1024,
		}
		r.Loss = r.LMLoss + r.AuxLoss + r.ZLoss
		if step%50 == 0 {
			v := r.LMLoss + 0.1
			r.ValLoss = &v
		}
		for l, layer := range moeLayers {
			row := make([]float64, e)
			var sum float64
			for x := range row {
				skew := (1 - t) * math.Sin(float64(x+1)*float64(l+2)+float64(i)/40)
				row[x] = math.Exp(skew)
				sum += row[x]
			}
			for x := range row {
				row[x] /= sum
			}
			r.ExpertLoad = append(r.ExpertLoad, row)
			r.MoELayers = append(r.MoELayers, layer)
		}
		recs[i] = r
	}
	return recs
}

// writeMetrics writes recs as RUN_DIR/metrics.jsonl under a fresh temp dir
// and returns the run dir.
func writeMetrics(t *testing.T, recs []train.Record) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}
