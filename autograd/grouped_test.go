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

// TestGroupedMatMulPiecesMatchNaive runs a product large enough to be cut
// into pieces and claimed by the cores, with one group holding most rows and
// one empty, and checks output, dx and dw against plain loops, both for fresh
// gradients and when accumulating into existing ones.
func TestGroupedMatMulPiecesMatchNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	offsets := []int{0, 450, 450, 560, 600}
	const m, din, dout, groups = 600, 64, 96, 4
	x, w := param(rng, m, din), param(rng, groups, dout, din)
	r := RandN(rng, 1, m, dout) // d loss / d out
	for pass := 1; pass <= 2; pass++ {
		tp := NewTape()
		out := tp.GroupedMatMul(x, w, offsets)
		if err := tp.Backward(tp.Sum(tp.Mul(out, r))); err != nil {
			t.Fatal(err)
		}
		for e := range groups {
			for i := offsets[e]; i < offsets[e+1]; i++ {
				for o := range dout {
					want := 0.0
					for k := range din {
						want += x.At(i*din+k) * w.At((e*dout+o)*din+k)
					}
					if d := out.At(i*dout+o) - want; d > 1e-10 || d < -1e-10 {
						t.Fatalf("out[%d,%d] = %v, want %v", i, o, out.At(i*dout+o), want)
					}
				}
				for k := range din {
					want := 0.0
					for o := range dout {
						want += r.At(i*dout+o) * w.At((e*dout+o)*din+k)
					}
					if d := x.GradAt(i*din+k) - float64(pass)*want; d > 1e-9 || d < -1e-9 {
						t.Fatalf("pass %d: dx[%d,%d] = %v, want %v", pass, i, k, x.GradAt(i*din+k), float64(pass)*want)
					}
				}
			}
			for o := range dout {
				for k := range din {
					want := 0.0
					for i := offsets[e]; i < offsets[e+1]; i++ {
						want += r.At(i*dout+o) * x.At(i*din+k)
					}
					if got := w.GradAt((e*dout+o)*din + k); got-float64(pass)*want > 1e-9 || got-float64(pass)*want < -1e-9 {
						t.Fatalf("pass %d: dw[%d,%d,%d] = %v, want %v", pass, e, o, k, got, float64(pass)*want)
					}
				}
			}
		}
		tp.Reset()
	}
}
