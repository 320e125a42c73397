package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moetrain/moetrain/autograd"
)

// AssignOptions say how strictly Assign matches stored tensors to the
// destination's. The zero value is strict.
type AssignOptions struct {
	// Partial accepts a file that holds only some of the destination's
	// tensors (an adapter, a subset of a model): the others keep their
	// values and Assign returns their names. A stored tensor the
	// destination lacks, or one of another shape, is an error either way.
	Partial bool
}

// maxNamed is how many tensor names an error lists before counting the rest.
const maxNamed = 4

// Assign copies the values of src's tensors into dst's tensors of the same
// name (float32 and float64 convert either way). file names where src came
// from, for errors. Strict (the zero AssignOptions): every dst tensor must be
// in src. Always: every src tensor must be in dst with dst's shape. All of it
// is checked before any value is copied, so a file that does not fit leaves
// dst as it was. It returns the names of the dst tensors src lacks, sorted
// (none unless Partial).
func Assign(dst, src map[string]*autograd.Tensor, file string, opt AssignOptions) (missing []string, err error) {
	var extra []string
	for _, name := range sortedKeys(src) {
		s, d := src[name], dst[name]
		switch {
		case d == nil:
			extra = append(extra, name)
		case s == nil:
			return nil, fmt.Errorf("%s: tensor %q is empty", file, name)
		case !slices.Equal(s.Shape(), d.Shape()):
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the model's is %v; the file is of another architecture", file, name, s.Shape(), d.Shape())
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("%s: %s not in the model; the file is of another architecture", file, nameList(extra, src))
	}
	for _, name := range sortedKeys(dst) {
		if _, ok := src[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 && !opt.Partial {
		return nil, fmt.Errorf("%s: %s missing; the file is of another architecture, or holds only part of a model (load it partially)", file, nameList(missing, dst))
	}
	for name, s := range src {
		copyInto(dst[name], s)
	}
	return missing, nil
}

// nameList describes names (sorted) with the shapes ts gives them: one tensor
// "a" [2 3], or several, the first maxNamed listed and the rest counted.
func nameList(names []string, ts map[string]*autograd.Tensor) string {
	var b strings.Builder
	if len(names) == 1 {
		b.WriteString("tensor ")
	} else {
		fmt.Fprintf(&b, "%d tensors ", len(names))
	}
	for i, n := range names {
		if i == maxNamed {
			fmt.Fprintf(&b, " and %d more", len(names)-maxNamed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
		if t := ts[n]; t != nil {
			fmt.Fprintf(&b, " %v", t.Shape())
		}
	}
	if len(names) == 1 {
		b.WriteString(" is")
	} else {
		b.WriteString(" are")
	}
	return b.String()
}

// copyInto copies src's values into dst (same length), converting dtype.
func copyInto(dst, src *autograd.Tensor) {
	switch {
	case dst.DType() == autograd.Float32 && src.DType() == autograd.Float32:
		copy(dst.F32(), src.F32())
	case dst.DType() == autograd.Float64 && src.DType() == autograd.Float64:
		copy(dst.F64(), src.F64())
	default:
		for i := 0; i < dst.Len(); i++ {
			dst.Set(i, src.At(i))
		}
	}
}
