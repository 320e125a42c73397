package autograd

import "fmt"

// ewPlan lays out a binary elementwise op out = f(a, b) under numpy
// broadcasting. Output dims of size 1 are dropped and neighbouring dims that
// are contiguous in both operands are merged, so the common cases collapse to
// one or two dims:
//
//	a [N, D], b [N, D]  ->  dims [N*D],  a strides (1),    b strides (1)
//	a [N, D], b [D]     ->  dims [N, D], a strides (D, 1), b strides (0, 1)
//	a [N, D], b [N, 1]  ->  dims [N, D], a strides (D, 1), b strides (1, 0)
//
// The last collapsed dim is walked by tight loops over runs of output
// elements; the dims before it by an odometer (the general broadcast path).
type ewPlan struct {
	out    []int // broadcast output shape, as the result tensor has it
	dims   []int // collapsed dims, at least one
	sa, sb []int // element strides of a and b over dims, 0 where broadcast
	n      int   // number of output elements
}

// ewBroadcastShape returns the numpy broadcast of shapes a and b: shapes are
// aligned at their last axis and each pair of dims must be equal or contain 1.
// It reports false if they do not broadcast.
func ewBroadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// ewBroadcastStrides returns the strides of a tensor of shape s, aligned at
// the last axis to the output shape out, with 0 on the dims s broadcasts over.
func ewBroadcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	step := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j < 0 {
			continue
		}
		if s[j] != 1 || out[i] == 1 {
			st[i] = step
		}
		step *= s[j]
	}
	return st
}

// newEwPlan plans out = f(a, b) for operand shapes a and b. It panics, naming
// op, if the shapes do not broadcast.
func newEwPlan(op string, a, b []int) *ewPlan {
	out, ok := ewBroadcastShape(a, b)
	if !ok {
		panic(fmt.Sprintf("autograd.%s: shapes %v and %v do not broadcast", op, a, b))
	}
	fa, fb := ewBroadcastStrides(a, out), ewBroadcastStrides(b, out)
	p := &ewPlan{out: out, n: numel(out)}
	for i, d := range out {
		if d == 1 {
			continue // a size-1 output dim is never walked
		}
		k := len(p.dims) - 1
		if k >= 0 && p.sa[k] == fa[i]*d && p.sb[k] == fb[i]*d {
			// The previous dim steps over exactly this one in both
			// operands (or in neither): walk them as one.
			p.dims[k] *= d
			p.sa[k], p.sb[k] = fa[i], fb[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, fa[i])
		p.sb = append(p.sb, fb[i])
	}
	if len(p.dims) == 0 { // a single element (or none)
		p.dims, p.sa, p.sb = []int{p.n}, []int{0}, []int{0}
	}
	return p
}

// inner returns the strides of a and b along the last collapsed dim: each is 1
// (the operand runs along with the output) or 0 (it is broadcast along it).
func (p *ewPlan) inner() (ia, ib int) {
	k := len(p.dims) - 1
	return p.sa[k], p.sb[k]
}

// disjoint reports whether the runs that each hands out in parallel touch
// disjoint elements of an operand with strides s, so that accumulating into
// that operand's gradient from several goroutines is race-free.
func (p *ewPlan) disjoint(s []int) bool {
	k := len(p.dims) - 1
	if p.n == p.dims[k] { // one run, split along its length
		return s[k] != 0
	}
	for _, st := range s[:k] { // runs are split by row
		if st == 0 {
			return false
		}
	}
	return true
}

// each calls fn(o, oa, ob, m) for every run of m consecutive output elements
// starting at flat offset o, whose operands start at oa and ob and advance by
// the inner strides. With parallel set, runs are spread over cores; callers set
// it only when fn's writes for different runs never overlap (see disjoint).
func (p *ewPlan) each(e *Engine, parallel bool, fn func(o, oa, ob, m int)) {
	if p.n == 0 {
		return
	}
	k := len(p.dims) - 1
	inner := p.dims[k]
	ia, ib := p.sa[k], p.sb[k]
	rows := p.n / inner
	if rows == 1 {
		if !parallel {
			fn(0, 0, 0, inner)
			return
		}
		e.parallelFor(inner, 1, func(lo, hi int) { fn(lo, lo*ia, lo*ib, hi-lo) })
		return
	}
	work := func(lo, hi int) {
		var buf [8]int
		idx := buf[:0]
		if k > len(buf) {
			idx = make([]int, 0, k)
		}
		idx = idx[:k]
		// Unravel row lo into the outer dims.
		oa, ob := 0, 0
		for d, r := k-1, lo; d >= 0; d-- {
			idx[d] = r % p.dims[d]
			r /= p.dims[d]
			oa += idx[d] * p.sa[d]
			ob += idx[d] * p.sb[d]
		}
		for r := lo; r < hi; r++ {
			fn(r*inner, oa, ob, inner)
			for d := k - 1; d >= 0; d-- { // odometer step
				idx[d]++
				oa += p.sa[d]
				ob += p.sb[d]
				if idx[d] < p.dims[d] {
					break
				}
				oa -= p.sa[d] * p.dims[d]
				ob -= p.sb[d] * p.dims[d]
				idx[d] = 0
			}
		}
	}
	if parallel {
		e.parallelFor(rows, inner, work)
	} else {
		work(0, rows)
	}
}
