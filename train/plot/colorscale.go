package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
)

// loadScale is the colour scale of expert_load.png, shared by every layer. It
// implements palette.ColorMap with 256 colours sampled from a moreland map,
// indexed by the position of a load in [min, max]; when mid is set that
// position is piecewise linear, putting mid at the centre of the map.
type loadScale struct {
	pal           []color.NRGBA // [256]
	min, mid, max float64       // mid is NaN for a plain linear scale
	alpha         float64
	label         string // caption of the colour bar
}

// newLoadScale picks the colour scale for layers. When every layer has the
// same E it diverges at the balanced load 1/E (blue below, red above) over
// [0, max(largest load, 2/E)]; otherwise it is sequential over [0, largest
// load].
func newLoadScale(layers []*layerLoad) (*loadScale, error) {
	maxLoad := 0.0
	counts := map[int]bool{}
	for _, g := range layers {
		counts[g.experts()] = true
		for _, row := range g.load {
			for _, v := range row {
				maxLoad = math.Max(maxLoad, v) // NaN leaves maxLoad as it is
			}
		}
	}
	s := &loadScale{mid: math.NaN(), alpha: 1}
	var base palette.ColorMap
	if len(counts) == 1 {
		e := layers[0].experts()
		s.mid = 1 / float64(e)
		s.max = math.Max(maxLoad, 2*s.mid)
		base = moreland.SmoothBlueRed()
		s.label = fmt.Sprintf("fraction of the layer's slots per expert (balanced 1/%d = %.3g: blue below, red above)", e, s.mid)
	} else {
		s.max = maxLoad
		if s.max <= 0 {
			s.max = 1
		}
		base = moreland.ExtendedKindlmann()
		s.label = "fraction of the layer's slots per expert"
	}
	base.SetMin(0)
	base.SetMax(1)
	s.pal = make([]color.NRGBA, 256)
	for i := range s.pal {
		c, err := base.At(float64(i) / 255)
		if err != nil {
			return nil, fmt.Errorf("plot: expert load colours: %w", err)
		}
		s.pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
	}
	return s, nil
}

// pos maps v in [min, max] to [0, 1].
func (s *loadScale) pos(v float64) float64 {
	switch {
	case math.IsNaN(s.mid):
		return (v - s.min) / (s.max - s.min)
	case v < s.mid:
		return 0.5 * (v - s.min) / (s.mid - s.min)
	default:
		return 0.5 + 0.5*(v-s.mid)/(s.max-s.mid)
	}
}

// color returns the colour of load v clamped to the scale; NaN is transparent.
func (s *loadScale) color(v float64) color.Color {
	if math.IsNaN(v) {
		return color.Transparent
	}
	c, _ := s.At(math.Min(math.Max(v, s.min), s.max))
	return c
}

// At implements palette.ColorMap: the colour of v, or an error when v is
// outside [Min, Max].
func (s *loadScale) At(v float64) (color.Color, error) {
	if !(v >= s.min && v <= s.max) {
		return nil, fmt.Errorf("plot: load %g outside the colour scale [%g, %g]", v, s.min, s.max)
	}
	c := s.pal[int(math.Min(math.Max(s.pos(v), 0), 1)*255+0.5)]
	c.A = uint8(float64(c.A)*s.alpha + 0.5)
	return c, nil
}

// Min implements palette.ColorMap.
func (s *loadScale) Min() float64 { return s.min }

// Max implements palette.ColorMap.
func (s *loadScale) Max() float64 { return s.max }

// SetMin implements palette.ColorMap.
func (s *loadScale) SetMin(v float64) { s.min = v }

// SetMax implements palette.ColorMap.
func (s *loadScale) SetMax(v float64) { s.max = v }

// Alpha implements palette.ColorMap.
func (s *loadScale) Alpha() float64 { return s.alpha }

// SetAlpha implements palette.ColorMap. It panics if a is outside [0, 1].
func (s *loadScale) SetAlpha(a float64) {
	if !(a >= 0 && a <= 1) {
		panic(fmt.Sprintf("plot: alpha %g outside [0, 1]", a))
	}
	s.alpha = a
}

// Palette implements palette.ColorMap: n colours evenly spaced in value from
// Min to Max. It panics if n < 2.
func (s *loadScale) Palette(n int) palette.Palette {
	if n < 2 {
		panic(fmt.Sprintf("plot: palette of %d colours", n))
	}
	cs := make([]color.Color, n)
	for i := range cs {
		cs[i], _ = s.At(s.min + (s.max-s.min)*float64(i)/float64(n-1))
	}
	return colors(cs)
}

// colors is a palette.Palette of fixed colours.
type colors []color.Color

// Colors implements palette.Palette.
func (c colors) Colors() []color.Color { return c }
