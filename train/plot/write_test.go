package plot

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/train"
)

// decodePNG opens and decodes a PNG file.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// colourCounts returns how many distinct colours the rectangle r of img
// holds, and how many of them are not greys (r, g and b not all equal).
func colourCounts(img image.Image, r image.Rectangle) (all, chromatic int) {
	seen := map[[3]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			k := [3]uint32{cr >> 8, cg >> 8, cb >> 8}
			if seen[k] {
				continue
			}
			seen[k] = true
			if k[0] != k[1] || k[1] != k[2] {
				chromatic++
			}
		}
	}
	return len(seen), chromatic
}

// checkDir fails unless dir holds exactly the given files and nothing else
// (no temporary files left behind).
func checkDir(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, want)
	}
}

func TestRunWritesEveryChart(t *testing.T) {
	tests := []struct {
		name         string
		opt          Options
		wantW, wantH int // size of the line charts
		layerH       int
	}{
		{"defaults", Options{}, DefaultWidth, DefaultHeight, DefaultLayerHeight},
		{"custom sizes, log loss", Options{Width: 500, Height: 320, LayerHeight: 170, LogLoss: true}, 500, 320, 170},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeMetrics(t, synthRecords(300, []int{1, 3}, 8))
			rep, err := Run(dir, "", tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Notes) != 0 {
				t.Errorf("notes %q, want none", rep.Notes)
			}
			out := filepath.Join(dir, "plots")
			names := []string{"aux.png", "expert_load.png", "loss.png", "lr.png", "throughput.png"}
			checkDir(t, out, names...)
			if len(rep.Files) != len(names) {
				t.Errorf("report lists %v", rep.Files)
			}
			for _, name := range names {
				img := decodePNG(t, filepath.Join(out, name))
				w, h := tt.wantW, tt.wantH
				if name == "expert_load.png" {
					h = 2*tt.layerH + ColorBarHeight
				}
				if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
					t.Errorf("%s is %d×%d, want %d×%d", name, b.Dx(), b.Dy(), w, h)
				}
				all, chromatic := colourCounts(img, img.Bounds())
				if all < 2 || chromatic < 1 {
					t.Errorf("%s: %d colours, %d not grey: looks blank", name, all, chromatic)
				}
			}
			// The heat maps alone, above the colour bar, must show many
			// colours of the scale: the synthetic load varies by expert and step.
			img := decodePNG(t, filepath.Join(out, "expert_load.png"))
			panels := image.Rect(0, 0, tt.wantW, 2*tt.layerH)
			if _, chromatic := colourCounts(img, panels); chromatic < 100 {
				t.Errorf("expert_load.png heat maps show %d colours, want a varying map (≥ 100)", chromatic)
			}
		})
	}
}

func TestWriteDenseRunSkipsHeatmap(t *testing.T) {
	recs := synthRecords(40, nil, 0)
	for i := range recs {
		recs[i].AuxLoss, recs[i].ZLoss = 0, 0 // a dense model has no router losses
	}
	out := t.TempDir()
	rep, err := Write(recs, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkDir(t, out, "aux.png", "loss.png", "lr.png", "throughput.png")
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "expert_load.png: skipped") {
		t.Errorf("notes %q, want one saying the heat map was skipped", rep.Notes)
	}
}

func TestWriteEdgeCases(t *testing.T) {
	one := synthRecords(1, []int{0}, 4)
	shuffled := synthRecords(50, []int{0, 1}, 4)
	for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	negative := synthRecords(20, []int{0}, 4)
	negative[5].Loss = -1
	tests := []struct {
		name      string
		recs      []train.Record
		opt       Options
		wantFiles int
		wantNote  string // substring of a note; "" means no notes
	}{
		{"single record", one, Options{}, 5, ""},
		{"records out of order", shuffled, Options{}, 5, ""},
		{"smallest sizes, 64 experts", synthRecords(30, []int{0, 1, 2}, 64), Options{Width: 240, Height: 160, LayerHeight: 160}, 5, ""},
		{"log loss with a negative loss stays linear", negative, Options{LogLoss: true}, 5, "stays linear"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Write(tt.recs, t.TempDir(), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Files) != tt.wantFiles {
				t.Errorf("wrote %v, want %d files", rep.Files, tt.wantFiles)
			}
			notes := strings.Join(rep.Notes, "\n")
			if (tt.wantNote == "") != (notes == "") || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes %q, want %q", notes, tt.wantNote)
			}
		})
	}
}

func TestWriteReplacesExistingCharts(t *testing.T) {
	out := t.TempDir()
	if _, err := Write(synthRecords(30, []int{0}, 4), out, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(synthRecords(30, []int{0}, 4), out, Options{Width: 300, Height: 200, LayerHeight: 160}); err != nil {
		t.Fatal(err)
	}
	checkDir(t, out, "aux.png", "expert_load.png", "loss.png", "lr.png", "throughput.png")
	if b := decodePNG(t, filepath.Join(out, "loss.png")).Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Errorf("loss.png is %v after the second write, want 300×200", b)
	}
}

func TestRunErrors(t *testing.T) {
	write := func(content string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, MetricsFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name      string
		dir       string
		opt       Options
		noMetrics bool     // the error wraps ErrNoMetrics
		want      []string // substrings of the message
	}{
		{"missing run dir", filepath.Join(t.TempDir(), "nope"), Options{}, true, []string{"metrics.jsonl does not exist", "pretrain"}},
		{"empty file", write(""), Options{}, true, []string{"metrics.jsonl has no records", "pretrain"}},
		{"blank lines only", write("\n  \n"), Options{}, true, []string{"has no records"}},
		{"corrupt line", write(`{"step":1,"loss":2}` + "\n" + `{"step":2,"loss":` + "\n"), Options{}, false,
			[]string{"corrupt", "metrics.jsonl:2", "pretrain"}},
		{"wrong field type", write(`{"step":"one"}` + "\n"), Options{}, false, []string{"corrupt", "metrics.jsonl:1"}},
		{"chart too small", writeMetrics(t, synthRecords(10, nil, 0)), Options{Width: 100}, false, []string{"too small"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "plots")
			rep, err := Run(tt.dir, out, tt.opt)
			if err == nil {
				t.Fatalf("no error; wrote %v", rep.Files)
			}
			if errors.Is(err, ErrNoMetrics) != tt.noMetrics {
				t.Errorf("errors.Is(err, ErrNoMetrics) = %v, want %v (%v)", !tt.noMetrics, tt.noMetrics, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				t.Errorf("output dir created despite the error")
			}
		})
	}
}

func TestWriteNoRecords(t *testing.T) {
	if _, err := Write(nil, t.TempDir(), Options{}); !errors.Is(err, ErrNoMetrics) {
		t.Fatalf("err = %v, want ErrNoMetrics", err)
	}
}
