package plot

import (
	"image/color"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/train"
)

func TestExpertLoads(t *testing.T) {
	rec := func(step int, layers []int, load ...[]float64) train.Record {
		return train.Record{Step: step, MoELayers: layers, ExpertLoad: load}
	}
	a, b, c := []float64{0.75, 0.25}, []float64{0.5, 0.5}, []float64{0.25, 0.75}
	tests := []struct {
		name      string
		recs      []train.Record
		want      []layerLoad
		wantNotes []string // substrings, one per note
	}{
		{"dense", []train.Record{{Step: 1}, {Step: 2}}, nil, nil},
		{"layers sorted by index",
			[]train.Record{rec(10, []int{3, 1}, a, b), rec(20, []int{3, 1}, b, c)},
			[]layerLoad{
				{layer: 1, steps: []float64{10, 20}, load: [][]float64{b, c}},
				{layer: 3, steps: []float64{10, 20}, load: [][]float64{a, b}},
			}, nil},
		{"repeated step: last wins",
			[]train.Record{rec(10, []int{0}, a), rec(10, []int{0}, c), rec(20, []int{0}, b)},
			[]layerLoad{{layer: 0, steps: []float64{10, 20}, load: [][]float64{c, b}}}, nil},
		{"no moe_layers: numbered by position",
			[]train.Record{rec(10, nil, a, b)},
			[]layerLoad{
				{layer: 0, steps: []float64{10}, load: [][]float64{a}},
				{layer: 1, steps: []float64{10}, load: [][]float64{b}},
			}, []string{"1 records lack a matching moe_layers"}},
		{"expert count changes: row left out",
			[]train.Record{rec(10, []int{2}, a), rec(20, []int{2}, []float64{0.2, 0.3, 0.5}), rec(30, []int{2}, c)},
			[]layerLoad{{layer: 2, steps: []float64{10, 30}, load: [][]float64{a, c}}},
			[]string{"left out 1 expert_load rows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := expertLoads(tt.recs)
			if len(got) != len(tt.want) {
				t.Fatalf("%d layers, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(*got[i], tt.want[i]) {
					t.Errorf("layer %d = %+v, want %+v", i, *got[i], tt.want[i])
				}
			}
			if len(notes) != len(tt.wantNotes) {
				t.Fatalf("notes %q, want %d", notes, len(tt.wantNotes))
			}
			for i, n := range notes {
				if !strings.Contains(n, tt.wantNotes[i]) {
					t.Errorf("note %q lacks %q", n, tt.wantNotes[i])
				}
			}
		})
	}
}

func TestCellEdges(t *testing.T) {
	tests := []struct {
		steps, want []float64
	}{
		{[]float64{7}, []float64{6.5, 7.5}},
		{[]float64{10, 20}, []float64{5, 15, 25}},
		{[]float64{10, 20, 40}, []float64{5, 15, 30, 50}},
	}
	for _, tt := range tests {
		if got := cellEdges(tt.steps); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("cellEdges(%v) = %v, want %v", tt.steps, got, tt.want)
		}
	}
}

func TestPixelColumns(t *testing.T) {
	g := &layerLoad{steps: []float64{10, 20, 30}, load: [][]float64{{1, 0}, {0.5, 0.5}, {0, 1}}}
	tests := []struct {
		name   string
		x0, x1 float64
		w      int
		want   [][]float64
	}{
		{"one pixel per step", 5, 35, 3, g.load},
		{"one pixel averages all", 5, 35, 1, [][]float64{{0.5, 0.5}}},
		{"two pixels per step take the nearest", 5, 35, 6,
			[][]float64{g.load[0], g.load[0], g.load[1], g.load[1], g.load[2], g.load[2]}},
		{"outside the logged steps is empty", -25, 35, 6,
			[][]float64{nil, nil, nil, g.load[0], g.load[1], g.load[2]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pixelColumns(g, tt.x0, tt.x1, tt.w); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadRaster(t *testing.T) {
	g := &layerLoad{steps: []float64{10, 20}, load: [][]float64{{0.5, 0.25, 0.25}, {0, 0.25, 0.75}}}
	lc, err := newLoadScale([]*layerLoad{g})
	if err != nil {
		t.Fatal(err)
	}
	const k = 3
	img := loadRaster(g, lc, 5, 35, 3, k) // the third column lies past the last step
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 3*k {
		t.Fatalf("raster is %v, want 3×%d", b, 3*k)
	}
	for ex := 0; ex < 3; ex++ {
		for y := (2 - ex) * k; y < (3-ex)*k; y++ { // expert 0 at the bottom
			for px := 0; px < 2; px++ {
				want := color.RGBAModel.Convert(lc.color(g.load[px][ex]))
				if got := img.At(px, y); got != want {
					t.Errorf("expert %d step %v pixel (%d,%d) = %v, want %v", ex, g.steps[px], px, y, got, want)
				}
			}
			if _, _, _, a := img.At(2, y).RGBA(); a != 0 {
				t.Errorf("pixel (2,%d) past the last step is opaque", y)
			}
		}
	}
}

func TestLoadScale(t *testing.T) {
	eight := &layerLoad{steps: []float64{1}, load: [][]float64{{0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}}}
	balanced := &layerLoad{steps: []float64{1}, load: [][]float64{{0.25, 0.25, 0.25, 0.25}}}
	tests := []struct {
		name          string
		layers        []*layerLoad
		mid, max      float64 // mid NaN: sequential
		labelContains string
	}{
		{"one expert count diverges at 1/E", []*layerLoad{eight}, 0.125, 0.3, "1/8 = 0.125"},
		{"range reaches at least 2/E", []*layerLoad{balanced}, 0.25, 0.5, "1/4 = 0.25"},
		{"mixed expert counts are sequential", []*layerLoad{eight, balanced}, math.NaN(), 0.3, "per expert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := newLoadScale(tt.layers)
			if err != nil {
				t.Fatal(err)
			}
			if s.Min() != 0 || s.Max() != tt.max || (math.IsNaN(tt.mid) != math.IsNaN(s.mid)) || (!math.IsNaN(tt.mid) && s.mid != tt.mid) {
				t.Errorf("scale [%g, mid %g, %g], want [0, mid %g, %g]", s.Min(), s.mid, s.Max(), tt.mid, tt.max)
			}
			if !strings.Contains(s.label, tt.labelContains) {
				t.Errorf("label %q lacks %q", s.label, tt.labelContains)
			}
			ends := map[float64]color.NRGBA{0: s.pal[0], s.Max(): s.pal[255]}
			if !math.IsNaN(s.mid) {
				ends[s.mid] = s.pal[128]
			}
			for v, want := range ends {
				got, err := s.At(v)
				if err != nil || got != want {
					t.Errorf("At(%g) = %v, %v; want %v", v, got, err, want)
				}
			}
			if s.pal[0] == s.pal[255] {
				t.Errorf("scale ends share one colour %v", s.pal[0])
			}
			for _, v := range []float64{-0.01, s.Max() + 0.01, math.NaN()} {
				if _, err := s.At(v); err == nil {
					t.Errorf("At(%g) gave no error", v)
				}
			}
			if c := s.color(2 * s.Max()); c != color.Color(s.pal[255]) {
				t.Errorf("color above the scale = %v, want the top colour", c)
			}
			if n := len(s.Palette(5).Colors()); n != 5 {
				t.Errorf("Palette(5) has %d colours", n)
			}
		})
	}
}

func TestLoadScaleSetAlphaPanics(t *testing.T) {
	s, err := newLoadScale([]*layerLoad{{steps: []float64{1}, load: [][]float64{{0.5, 0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetAlpha(0.5)
	if c, _ := s.At(0); c.(color.NRGBA).A != 128 {
		t.Errorf("alpha 0.5 gives A = %d", c.(color.NRGBA).A)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetAlpha(2) did not panic")
		}
	}()
	s.SetAlpha(2)
}

func TestBarTicksMarkBalancedLoad(t *testing.T) {
	ticks := barTicks(0.125).Ticks(0, 0.3)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
		if tk.Label != "" && tk.Label != "0.125" && math.Abs(tk.Value-0.125) < 0.3/8 {
			t.Errorf("label %q crowds the balanced mark", tk.Label)
		}
	}
	if len(labels) < 2 || labels[0] != "0.125" {
		t.Errorf("labels %v, want 0.125 first and round values", labels)
	}
	if got := barTicks(math.NaN()).Ticks(0, 0.3); len(got) == 0 || got[0].Label == "0.125" {
		t.Errorf("sequential ticks %v", got)
	}
}
