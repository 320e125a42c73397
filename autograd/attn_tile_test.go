package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestTileGemm checks the tile kernel route against a float64 product over
// both layouts of A and B, beta 0 and 1, strided operands, and sizes with
// row and column remainders (which run as loops).
func TestTileGemm(t *testing.T) {
	if !hasTileKernel {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, sz := range [][3]int{{8, 32, 1}, {64, 128, 32}, {128, 32, 64}, {64, 32, 128}, {13, 45, 7}, {9, 33, 32}, {16, 64, 5}} {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range []float32{0, 1} {
				name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/beta=%v", m, n, k, tr[0], tr[1], beta)
				// Row strides wider than the rows, as in attention's [B,T,H,Dh] layouts.
				lda, ldb, ldc := k+3, n+5, n+2
				ar, br := m, k
				if tr[0] {
					lda, ar = m+3, k
				}
				if tr[1] {
					ldb, br = k+5, n
				}
				a, b, c := fill(ar*lda), fill(br*ldb), fill(m*ldc)
				want := make([]float64, len(c))
				const alpha = 0.37
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var s float64
						for p := 0; p < k; p++ {
							ai, bi := i*lda+p, p*ldb+j
							if tr[0] {
								ai = p*lda + i
							}
							if tr[1] {
								bi = j*ldb + p
							}
							av, bv := a[ai], b[bi]
							s += float64(av) * float64(bv)
						}
						want[i*ldc+j] = alpha*s + float64(beta)*float64(c[i*ldc+j])
					}
				}
				for i := range c { // untouched outside the block
					if i%ldc >= n {
						want[i] = float64(c[i])
					}
				}
				tileGemm(&tileCopy[float32]{buf: make([]float32, k*n)}, tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				for i, w := range want {
					if math.Abs(float64(c[i])-w) > 1e-5*(1+math.Abs(w))*math.Sqrt(float64(k)) {
						t.Fatalf("%s: c[%d] = %v, want %v", name, i, c[i], w)
					}
				}
			}
		}
	}
}

// TestTouchLinesLeavesDataAlone: touching reads every line of slices of any
// length (including ones shorter than its 256-byte step) and changes nothing.
func TestTouchLinesLeavesDataAlone(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 4099} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
		}
		touchLines(x)
		touchLines(ToFloat64(FromSlice(x, n)).F64())
		for i, v := range x {
			if v != float32(i) {
				t.Fatalf("n=%d: x[%d] = %v after touchLines", n, i, v)
			}
		}
	}
}
