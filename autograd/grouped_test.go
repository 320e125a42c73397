package autograd

import (
	"math/rand/v2"
	"testing"
)

func TestGroupedMatMulGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		offsets        []int
		din, dout, exp int
	}{
		{[]int{0, 1}, 1, 1, 1},
		{[]int{0, 2, 2, 5}, 3, 4, 3},    // an empty group
		{[]int{0, 0, 0, 7, 7}, 5, 2, 4}, // all rows in one group
		{[]int{0, 3, 4, 6}, 7, 5, 3},
	}
	for _, c := range cases {
		m := c.offsets[len(c.offsets)-1]
		x, w := param(rng, m, c.din), param(rng, c.exp, c.dout, c.din)
		checkOp(t, "GroupedMatMul", func(tp *Tape, in []*Tensor) *Tensor { return tp.GroupedMatMul(in[0], in[1], c.offsets) }, x, w)
	}
}

// TestGroupedMatMulMatchesPerGroupMatMul holds the grouped kernel equal to the
// plain composition Select + MatMul, group by group.
func TestGroupedMatMulMatchesPerGroupMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	offsets := []int{0, 4, 4, 9, 12}
	x, w := RandN(rng, 1, 12, 6), RandN(rng, 1, 4, 3, 6)
	tp := NewNoGradTape()
	got := tp.GroupedMatMul(x, w, offsets)
	for e := 0; e < 4; e++ {
		lo, hi := offsets[e], offsets[e+1]
		if hi == lo {
			continue
		}
		xe := FromSlice(x.F64()[lo*6:hi*6], hi-lo, 6)
		want := tp.MatMul(xe, tp.Select(w, e), false, true)
		for i := 0; i < want.Len(); i++ {
			if d := got.At(lo*3+i) - want.At(i); d > 1e-12 || d < -1e-12 {
				t.Fatalf("group %d element %d: grouped %v, per-group %v", e, i, got.At(lo*3+i), want.At(i))
			}
		}
	}
}

func TestSelectGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, i := range []int{0, 2} {
		w := param(rng, 3, 2, 5)
		checkOp(t, "Select", func(tp *Tape, in []*Tensor) *Tensor { return tp.Select(in[0], i) }, w)
	}
}

// TestZeroGradIsLazyButExact: after ZeroGrad leaves old values in the
// buffers, the GEMM backward paths that overwrite (beta = 0) and the ones
// that accumulate give the same gradients as fresh buffers, including for an
// expert without tokens and a weight used by two ops.
func TestZeroGradIsLazyButExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	offsets := []int{0, 3, 3, 7} // expert 1 gets no rows
	x, w, v := param(rng, 7, 4), param(rng, 3, 5, 4), param(rng, 5, 4)
	run := func() [][]float64 {
		tp := NewTape()
		y := tp.GroupedMatMul(x, w, offsets)                     // [7, 5]
		z := tp.Add(tp.MatMul(x, v, false, true), y)             // v's gradient from a MatMul
		z = tp.Add(z, tp.MatMul(tp.Scale(x, 2), v, false, true)) // and a second use of v
		if err := tp.Backward(tp.Sum(tp.Mul(z, z))); err != nil {
			t.Fatal(err)
		}
		var out [][]float64
		for _, p := range []*Tensor{x, w, v} {
			g := make([]float64, p.Len())
			for i := range g {
				g[i] = p.GradAt(i)
			}
			out = append(out, g)
		}
		return out
	}
	want := run() // fresh buffers
	for _, p := range []*Tensor{x, w, v} {
		for i := range Grads[float64](p) {
			Grads[float64](p)[i] = 1e6 // garbage that ZeroGrad must hide
		}
		p.ZeroGrad()
	}
	got := run()
	for k := range want {
		for i := range want[k] {
			if got[k][i] != want[k][i] {
				t.Fatalf("tensor %d element %d: after ZeroGrad %v, fresh %v", k, i, got[k][i], want[k][i])
			}
		}
	}
}
