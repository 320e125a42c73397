package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnGemm checks attention's block products (the tile GEMM on
// AVX-512, BLAS elsewhere, loops for the smallest) against a float64 product
// over both layouts of A and B, beta 0 and 1, strided operands, and sizes
// with row and column remainders.
func TestAttnGemm(t *testing.T) {
	sizes := [][3]int{{8, 32, 1}, {64, 128, 32}, {128, 32, 64}, {64, 32, 128}, {13, 45, 7}, {9, 33, 32}, {16, 64, 5}, {3, 4, 5}}
	checkFloat32Gemm(t, sizes, []float32{0, 1}, bindGEMM(DefaultEngine(), attnGemm[float32]))
}

// TestSgemmTiled checks the packed tile GEMM against a float64 product:
// sizes with row, column and depth remainders (zero-padded tiles), depths
// over one packed pass, and beta 0, 1 and other.
func TestSgemmTiled(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	sizes := [][3]int{{1, 1, 1}, {7, 31, 3}, {8, 32, 256}, {9, 33, 257}, {17, 65, 600}, {64, 100, 513}, {3, 200, 40}, {40, 3, 70}, {9, 530, 300}, {3, 1100, 17}}
	t.Run("inplace", func(t *testing.T) {
		t.Parallel()
		checkFloat32Gemm(t, sizes, []float32{0, 1, 0.7}, bindGEMM(NewEngine(EngineOptions{Cores: 1}), sgemmTiled))
	})
	t.Run("packed", func(t *testing.T) { // a plain B packed as well, the in-place route's reference
		t.Parallel()
		e := NewEngine(EngineOptions{Cores: 1})
		e.packPlainB = true
		checkFloat32Gemm(t, sizes, []float32{0, 1, 0.7}, bindGEMM(e, sgemmTiled))
	})
	t.Run("noprefetch", func(t *testing.T) { // the prefetching route's reference
		t.Parallel()
		e := NewEngine(EngineOptions{Cores: 1})
		e.tilePrefetch = false
		checkFloat32Gemm(t, sizes, []float32{0, 1, 0.7}, bindGEMM(e, sgemmTiled))
	})
}

// randFloat32s returns n standard normal float32 values.
func randFloat32s(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// checkFloat32Gemm runs gemm, a float32 C = alpha·op(A)·op(B) + beta·C, on
// strided operands of every size, layout and beta given, and compares C,
// inside the block and out, with a float64 product.
func checkFloat32Gemm(t *testing.T, sizes [][3]int, betas []float32, gemm func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	fill := func(n int) []float32 { return randFloat32s(rng, n) }
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, beta := range betas {
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
				gemm(tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
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

// TestAttnRowKernelsMatchGoLoops: the vector row maximum and score gradient
// give the Go loops' results bit for bit, on lengths around the vector width,
// with NaN, ties and a running maximum above every element.
func TestAttnRowKernelsMatchGoLoops(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 48, 64, 100, 128} {
		row, dp := make([]float32, n), make([]float32, n)
		for i := range row {
			row[i], dp[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		if n > 20 {
			row[3], row[19] = float32(math.NaN()), 7 // NaN never wins; 7 does
			row[n-1], row[n-17] = float32(math.NaN()), float32(math.NaN())
		}
		if n >= 64 { // a NaN in the lane that holds the maximum must not drop it
			row[2], row[34] = 9, float32(math.NaN())
		}
		if n == 32 { // nothing but NaN: the running maximum stands
			for i := range row {
				row[i] = float32(math.NaN())
			}
		}
		run := func(vec bool, m float32) (float32, []float32) {
			saved := hasAVX512
			hasAVX512 = vec
			defer func() { hasAVX512 = saved }()
			out := append([]float32(nil), row...)
			attnScoreGrad(out, dp, 0.25)
			return attnRowMax(row, m), out
		}
		for _, m := range []float32{float32(math.Inf(-1)), 0.5, 100} {
			vm, vs := run(true, m)
			gm, gs := run(false, m)
			if math.Float32bits(vm) != math.Float32bits(gm) {
				t.Fatalf("n=%d m=%v: vector max %v, Go loop %v", n, m, vm, gm)
			}
			for i := range vs {
				if math.Float32bits(vs[i]) != math.Float32bits(gs[i]) {
					t.Fatalf("n=%d: score gradient %d: vector %v, Go loop %v", n, i, vs[i], gs[i])
				}
			}
		}
	}
}

// TestSgemmTiledAlphaZero: with alpha 0 the tile GEMM scales C by beta and
// reads neither A nor B, as BLAS does (an Inf in A gives no NaN).
func TestSgemmTiledAlphaZero(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	m, n, k := 9, 40, 20
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(math.Inf(1))
	}
	for i := range c {
		c[i] = float32(i)
	}
	sgemmTiled(DefaultEngine(), false, false, m, n, k, 0, a, k, b, n, 0.5, c, n)
	for i, v := range c {
		if v != float32(i)*0.5 {
			t.Fatalf("c[%d] = %v, want %v", i, v, float32(i)*0.5)
		}
	}
}

// TestTransposeInto checks the transpose (16x16 squares on AVX-512, loops at
// the edges) against its definition over sizes with and without remainders,
// with strides wider than the rows, and leaves dst alone outside the block.
// Without AVX-512 it checks the loop alone.
func TestTransposeInto(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {16, 16}, {17, 15}, {32, 48}, {33, 70}, {5, 40}, {128, 32}} {
		n, k := sz[0], sz[1]
		ldb, ldd := k+3, n+5
		b := make([]float32, n*ldb)
		for i := range b {
			b[i] = float32(i)
		}
		dst := make([]float32, k*ldd)
		for i := range dst {
			dst[i] = -1
		}
		transposeInto(b, ldb, n, k, dst, ldd)
		for i, got := range dst {
			p, j := i/ldd, i%ldd
			want := float32(-1)
			if j < n {
				want = b[j*ldb+p]
			}
			if got != want {
				t.Fatalf("n=%d k=%d: dst[%d] (p=%d, j=%d) = %v, want %v", n, k, i, p, j, got, want)
			}
		}
	}
}
