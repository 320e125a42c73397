package configs

import (
	"strconv"
	"strings"
)

// LayerFreq is moe.layer_freq: which transformer layers carry an MoE FFN. In YAML it is either an
// integer N (layer i is MoE when i % N == 0; 1 = every layer, 0 = none) or a list of 0/1, one per layer.
// When Pattern is nil the integer form applies.
type LayerFreq struct {
	Every   int    // N of the integer form
	Pattern []bool // list form: Pattern[i] says whether layer i is MoE; nil selects Every
}

// EveryLayer returns the integer form of moe.layer_freq: every n-th layer, starting at layer 0, is MoE.
func EveryLayer(n int) LayerFreq { return LayerFreq{Every: n} }

// LayerPattern returns the list form of moe.layer_freq: layer i is MoE when moe[i] is true.
func LayerPattern(moe ...bool) LayerFreq { return LayerFreq{Pattern: append([]bool{}, moe...)} }

// IsList reports whether the list form is in use.
func (f LayerFreq) IsList() bool { return f.Pattern != nil }

// String formats f as it is written in YAML: "2" or "[1, 0, 1, 0]".
func (f LayerFreq) String() string {
	if !f.IsList() {
		return strconv.Itoa(f.Every)
	}
	ints := make([]int, len(f.Pattern))
	for i, b := range f.Pattern {
		if b {
			ints[i] = 1
		}
	}
	return formatInts(ints)
}

// ExpertCount is moe.num_experts: E, the routed experts of each MoE layer. In YAML it is either one
// integer for every MoE layer (0 = a dense model) or a list with one entry per MoE layer, in layer
// order. When PerLayer is nil the integer form applies.
type ExpertCount struct {
	All      int   // E of the integer form
	PerLayer []int // list form: PerLayer[j] is E of the j-th MoE layer; nil selects All
}

// Experts returns the integer form of moe.num_experts: n experts in every MoE layer.
func Experts(n int) ExpertCount { return ExpertCount{All: n} }

// ExpertsPerLayer returns the list form of moe.num_experts: counts[j] experts in the j-th MoE layer.
func ExpertsPerLayer(counts ...int) ExpertCount {
	return ExpertCount{PerLayer: append([]int{}, counts...)}
}

// IsList reports whether the list form is in use.
func (e ExpertCount) IsList() bool { return e.PerLayer != nil }

// String formats e as it is written in YAML: "8" or "[8, 16]".
func (e ExpertCount) String() string {
	if !e.IsList() {
		return strconv.Itoa(e.All)
	}
	return formatInts(e.PerLayer)
}

// formatInts writes a YAML flow list of integers.
func formatInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// MoELayers returns, for each of the model.n_layers layers, whether it is an MoE layer. All entries
// are false for a dense model (moe.num_experts 0 or moe.layer_freq 0). A layer_freq list longer or
// shorter than n_layers (which Validate rejects) is cut or padded with false.
func (c *Config) MoELayers() []bool {
	out := make([]bool, max(c.Model.NLayers, 0))
	for i := range out {
		out[i] = c.isMoELayer(i)
	}
	return out
}

// isMoELayer reports whether layer i is an MoE layer, as MoELayers does, in constant time.
func (c *Config) isMoELayer(i int) bool {
	moe := c.MoE
	switch {
	case !moe.NumExperts.IsList() && moe.NumExperts.All == 0:
		return false
	case moe.LayerFreq.IsList():
		return i < len(moe.LayerFreq.Pattern) && moe.LayerFreq.Pattern[i]
	case moe.LayerFreq.Every > 0:
		return i%moe.LayerFreq.Every == 0
	}
	return false
}

// NumMoELayers counts the MoE layers that MoELayers reports.
func (c *Config) NumMoELayers() int {
	n := 0
	for i := range max(c.Model.NLayers, 0) {
		if c.isMoELayer(i) {
			n++
		}
	}
	return n
}

// IsDense reports whether the model has no MoE layer at all.
func (c *Config) IsDense() bool { return c.NumMoELayers() == 0 }

// ExpertsForLayer returns E of layer i: the routed expert count of an MoE layer, 0 for a dense layer.
// It takes constant time unless both moe.layer_freq and moe.num_experts are lists (then time in i),
// so a loop over the layers that calls it stays linear in their number.
// It panics if i is not in [0, model.n_layers), or if a moe.num_experts list has fewer entries than
// there are MoE layers (a Config that Validate rejects).
func (c *Config) ExpertsForLayer(i int) int {
	if i < 0 || i >= max(c.Model.NLayers, 0) {
		panic("configs: ExpertsForLayer: layer " + strconv.Itoa(i) + " out of range [0, " +
			strconv.Itoa(max(c.Model.NLayers, 0)) + ")")
	}
	n, ok := c.expertCount(i)
	if !ok {
		panic("configs: ExpertsForLayer: moe.num_experts has " + strconv.Itoa(len(c.MoE.NumExperts.PerLayer)) +
			" entries, too few for MoE layer " + strconv.Itoa(i))
	}
	return n
}

// expertCount returns E of layer i; ok is false when a moe.num_experts list has no entry for it.
func (c *Config) expertCount(i int) (n int, ok bool) {
	if !c.isMoELayer(i) {
		return 0, true
	}
	if !c.MoE.NumExperts.IsList() {
		return c.MoE.NumExperts.All, true
	}
	j := 0 // index of layer i among the MoE layers
	if f := c.MoE.LayerFreq; f.IsList() {
		for _, m := range f.Pattern[:min(i, len(f.Pattern))] {
			if m {
				j++
			}
		}
	} else {
		j = (i + f.Every - 1) / f.Every // the multiples of Every below i
	}
	if j >= len(c.MoE.NumExperts.PerLayer) {
		return 0, false
	}
	return c.MoE.NumExperts.PerLayer[j], true
}

// layerExperts returns E of every layer (0 for dense layers and for MoE layers a too-short
// moe.num_experts list leaves without a count), in time linear in the number of layers.
func (c *Config) layerExperts() []int {
	out := make([]int, max(c.Model.NLayers, 0))
	j := 0
	for i := range out {
		switch {
		case !c.isMoELayer(i):
		case !c.MoE.NumExperts.IsList():
			out[i] = c.MoE.NumExperts.All
		default:
			if j < len(c.MoE.NumExperts.PerLayer) {
				out[i] = c.MoE.NumExperts.PerLayer[j]
			}
			j++
		}
	}
	return out
}
