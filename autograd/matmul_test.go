package autograd

import (
	"math/rand/v2"
	"testing"
)

func param(rng *rand.Rand, shape ...int) *Tensor {
	t := RandN(rng, 1, shape...)
	t.SetRequiresGrad(true)
	return t
}

// checkOp runs the float64 finite-difference check and the float32 check.
func checkOp(t *testing.T, name string, f GradFunc, inputs ...*Tensor) {
	t.Helper()
	rel, err := GradCheck(f, inputs, 1e-6)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if rel > 1e-6 {
		t.Errorf("%s: float64 gradient relative error %.3g > 1e-6", name, rel)
	}
	rel32, err := GradCheck32(f, inputs)
	if err != nil {
		t.Fatalf("%s float32: %v", name, err)
	}
	if rel32 > 1e-4 {
		t.Errorf("%s: float32 vs float64 relative error %.3g > 1e-4", name, rel32)
	}
}

func TestMatMulGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 2}, {7, 1, 4}, {4, 6, 9}} {
		m, k, n := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				as, bs := []int{m, k}, []int{k, n}
				if ta {
					as = []int{k, m}
				}
				if tb {
					bs = []int{n, k}
				}
				a, b := param(rng, as...), param(rng, bs...)
				checkOp(t, "MatMul", func(tp *Tape, in []*Tensor) *Tensor { return tp.MatMul(in[0], in[1], ta, tb) }, a, b)
				ba, bb := param(rng, append([]int{3}, as...)...), param(rng, append([]int{3}, bs...)...)
				checkOp(t, "BatchedMatMul", func(tp *Tape, in []*Tensor) *Tensor { return tp.BatchedMatMul(in[0], in[1], ta, tb) }, ba, bb)
			}
		}
	}
}

func TestMatMulValues(t *testing.T) {
	tp := NewNoGradTape()
	a := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromSlice([]float64{7, 8, 9, 10, 11, 12}, 3, 2)
	c := tp.MatMul(a, b, false, false)
	want := []float64{58, 64, 139, 154}
	for i, w := range want {
		if c.At(i) != w {
			t.Fatalf("MatMul[%d] = %v, want %v", i, c.At(i), w)
		}
	}
	if tp.Len() != 0 {
		t.Fatalf("no-grad tape recorded %d ops", tp.Len())
	}
}

// TestGEMMSplitMatchesReference holds the goroutine-split GEMM (large
// products, split by rows or by columns, every transpose) equal to a plain
// triple loop.
func TestGEMMSplitMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, sz := range [][3]int{{130, 70, 300}, {20, 400, 300}, {257, 129, 65}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a, b := RandN(rng, 1, m*k), RandN(rng, 1, k*n)
				lda, ldb := k, n
				if ta {
					lda = m
				}
				if tb {
					ldb = k
				}
				c := RandN(rng, 1, m*n).F64()
				want := append([]float64(nil), c...)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for p := 0; p < k; p++ {
							var av, bv float64
							if ta {
								av = a.F64()[p*lda+i]
							} else {
								av = a.F64()[i*lda+p]
							}
							if tb {
								bv = b.F64()[j*ldb+p]
							} else {
								bv = b.F64()[p*ldb+j]
							}
							s += av * bv
						}
						want[i*n+j] = 0.5*s + 2*want[i*n+j]
					}
				}
				gemm(DefaultEngine(), ta, tb, m, n, k, 0.5, a.F64(), lda, b.F64(), ldb, 2, c, n)
				for i := range c {
					if d := c[i] - want[i]; d > 1e-9 || d < -1e-9 {
						t.Fatalf("m%d n%d k%d transA %v transB %v: element %d = %v, want %v", m, n, k, ta, tb, i, c[i], want[i])
					}
				}
			}
		}
	}
}
