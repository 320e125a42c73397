package checkpoint

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
)

// CheckFinite returns an error naming file, the first tensors (in name
// order) holding a NaN or infinite value with the first such element, and
// how many more do, or nil when every value of ts is finite. what says what
// the tensors are ("weight", "optimizer state") and advice what to do.
func CheckFinite(ts map[string]*autograd.Tensor, file, what, advice string) error {
	var bad []string
	n := 0
	for _, name := range sortedKeys(ts) {
		t := ts[name]
		if t == nil {
			continue
		}
		if i := firstNonFinite(t); i >= 0 {
			n++
			if len(bad) < maxNamed {
				bad = append(bad, fmt.Sprintf("%q (element %d is %v)", name, i, t.At(i)))
			}
		}
	}
	if n == 0 {
		return nil
	}
	list := fmt.Sprintf("%s %s", what, bad[0])
	if n > 1 {
		list = fmt.Sprintf("%d %s tensors hold NaN or infinite values: %s", n, what, joinCapped(bad, n))
	} else {
		list += " holds a NaN or infinite value"
	}
	return fmt.Errorf("%s: %s; %s", file, list, advice)
}

// joinCapped joins the first names of n and counts the rest.
func joinCapped(names []string, n int) string {
	s := ""
	for i, x := range names {
		if i > 0 {
			s += ", "
		}
		s += x
	}
	if n > len(names) {
		s += fmt.Sprintf(" and %d more", n-len(names))
	}
	return s
}
