package autograd

import (
	"fmt"
	"testing"
)

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{3, 4}, []int{3, 4}, []int{3, 4}, true},
		{[]int{3, 4}, []int{4}, []int{3, 4}, true},
		{[]int{4}, []int{3, 4}, []int{3, 4}, true},
		{[]int{3, 1}, []int{1, 4}, []int{3, 4}, true},
		{[]int{2, 1, 5}, []int{3, 1}, []int{2, 3, 5}, true},
		{[]int{1}, []int{2, 3}, []int{2, 3}, true},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}, true},
		{[]int{3}, []int{4}, nil, false},
		{[]int{2, 3}, []int{3, 2}, nil, false},
	}
	for _, c := range cases {
		got, ok := ewBroadcastShape(c.a, c.b)
		if ok != c.ok || (ok && !sameShape(got, c.want)) {
			t.Errorf("ewBroadcastShape(%v, %v) = %v, %v; want %v, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

// TestEwPlanCollapse pins the fast paths: equal shapes walk as one run,
// row and column broadcasts as two dims with a 0 stride.
func TestEwPlanCollapse(t *testing.T) {
	cases := []struct {
		a, b         []int
		dims, sa, sb []int
		disjA, disjB bool
		name         string
	}{
		{[]int{5, 7}, []int{5, 7}, []int{35}, []int{1}, []int{1}, true, true, "same"},
		{[]int{5, 7}, []int{7}, []int{5, 7}, []int{7, 1}, []int{0, 1}, true, false, "row"},
		{[]int{5, 7}, []int{5, 1}, []int{5, 7}, []int{7, 1}, []int{1, 0}, true, true, "column"},
		{[]int{1, 5, 1, 7}, []int{5, 1, 7}, []int{35}, []int{1}, []int{1}, true, true, "size-1 dims"},
		{[]int{2, 3, 4}, []int{4}, []int{6, 4}, []int{4, 1}, []int{0, 1}, true, false, "rows merged"},
		{[]int{3, 1}, []int{1, 4}, []int{3, 4}, []int{1, 0}, []int{0, 1}, true, false, "outer"},
		{[]int{6}, []int{1}, []int{6}, []int{1}, []int{0}, true, false, "scalar"},
		{[]int{1}, []int{1, 1}, []int{1}, []int{0}, []int{0}, false, false, "one element"},
	}
	for _, c := range cases {
		p := newEwPlan("test", c.a, c.b)
		got := fmt.Sprint(p.dims, p.sa, p.sb)
		want := fmt.Sprint(c.dims, c.sa, c.sb)
		if got != want {
			t.Errorf("%s: plan %v %v = %s, want %s", c.name, c.a, c.b, got, want)
		}
		if p.disjoint(p.sa) != c.disjA || p.disjoint(p.sb) != c.disjB {
			t.Errorf("%s: disjoint = %v, %v; want %v, %v", c.name, p.disjoint(p.sa), p.disjoint(p.sb), c.disjA, c.disjB)
		}
	}
}

// TestEwPlanEachVisitsAll walks awkward plans and checks that every output
// element is visited once with the operand offsets a naive index gives.
func TestEwPlanEachVisitsAll(t *testing.T) {
	shapes := [][2][]int{
		{{2, 1, 3, 1}, {1, 4, 1, 5}},
		{{3, 1, 5}, {2, 1, 1, 5}},
		{{7, 300}, {1}},
		{{2, 3, 4, 5}, {3, 1, 5}},
		{{1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, {3, 1, 2, 1, 2, 1, 2, 1, 2, 1}},
	}
	for _, s := range shapes {
		for _, par := range []bool{false, true} {
			p := newEwPlan("test", s[0], s[1])
			seen := make([]int, p.n)
			ia, ib := p.inner()
			p.each(DefaultEngine(), par && p.disjoint(p.sa), func(o, oa, ob, m int) {
				for j := 0; j < m; j++ {
					seen[o+j]++
					if wa := ewRefIndex(s[0], p.out, o+j); oa+j*ia != wa {
						t.Errorf("%v: a offset at %d = %d, want %d", s, o+j, oa+j*ia, wa)
					}
					if wb := ewRefIndex(s[1], p.out, o+j); ob+j*ib != wb {
						t.Errorf("%v: b offset at %d = %d, want %d", s, o+j, ob+j*ib, wb)
					}
				}
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("%v: output %d visited %d times", s, i, c)
				}
			}
		}
	}
}

// ewRefIndex returns the flat index into an operand of shape s of output
// element i of the broadcast shape out, by unravelling i.
func ewRefIndex(s, out []int, i int) int {
	idx, step := 0, 1
	for d := len(out) - 1; d >= 0; d-- {
		c := i % out[d]
		i /= out[d]
		j := d - (len(out) - len(s))
		if j < 0 {
			continue
		}
		if s[j] != 1 {
			idx += c * step
		}
		step *= s[j]
	}
	return idx
}
