package autograd

import (
	"fmt"
	"math"
)

// checkFinite reports the first input of r (record i of n) whose gradient
// holds a NaN or an infinity after r's backward ran.
func (r *record) checkFinite(i, n int) error {
	var err error
	r.inputs(func(k int, t *Tensor) {
		if err != nil || !t.requiresGrad || !t.HasGrad() || t.gradStale {
			return
		}
		if j, v, bad := firstNonFinite(t); bad {
			name := t.Name
			if name == "" {
				name = "an intermediate"
			}
			err = fmt.Errorf("autograd.Backward: op %s (record %d of %d) left %v at element %d of the gradient of its input %d (%s, shape %v)",
				r.op, i+1, n, v, j, k, name, t.shape)
		}
	})
	return err
}

// firstNonFinite returns the index and value of t's first non-finite
// gradient element.
func firstNonFinite(t *Tensor) (int, float64, bool) {
	for j, v := range t.g32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return j, float64(v), true
		}
	}
	for j, v := range t.g64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return j, v, true
		}
	}
	return 0, 0, false
}
