package autograd

// Mutations caught: dropping the odd-k step in the kernels (flags&2) makes
// TestGemmBF16MatchesRef fail for every odd k; packing a pair's halves
// swapped in packBF16Panels makes it fail for every k >= 2; copying a
// remainder tile without adding it (acc ignored) makes the accumulate cases
// fail; writing a remainder tile's full 64 columns makes the padding check
// fail; transposing B's pairs with a wrong row stride in packBF16Panels
// makes the shapes with k >= 32 and an even ldb fail; a stride check removed from
// checkGemmBF16 makes TestGemmBF16Errors fail; the portable loop dropping
// its k%4 tail, or indexing C by the block's row without i0 or j0, makes
// TestGemmBF16GoMatchesRef fail.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// bf16GemmSizes are the dimensions the tests mix: every size to 17 (all
// row remainders of the 6-row tile, odd and even k), and sizes about the
// 32- and 64-column boundaries.
var bf16GemmSizes = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 32, 33, 64, 127}

// randBF16 returns n bfloat16 values of normally distributed float32 times
// scale.
func randBF16(rng *rand.Rand, n int, scale float64) []BF16 {
	f := make([]float32, n)
	for i := range f {
		f[i] = float32(rng.NormFloat64() * scale)
	}
	h := make([]BF16, n)
	ToBF16(h, f)
	return h
}

// sentinel marks C's elements outside the [m, n] block, which GemmBF16
// must not write.
const sentinel = float32(-12345.5)

// checkGemmBF16Case runs one product on gemmBF16With(vec) and compares it
// with gemmBF16Ref: each element within (k+2)·2⁻²⁴ of Σ|a||b| + |c|, the
// bound of a float32 sum of k exact products, and C's padding untouched.
func checkGemmBF16Case(t *testing.T, rng *rand.Rand, vec bool, m, n, k, pad int, accumulate bool) {
	t.Helper()
	lda, ldb, ldc := k+pad, k+2*pad+pad%2, n+pad // ldb even for odd k and odd pad
	a := randBF16(rng, max(0, (m-1)*lda+k), 1)
	b := randBF16(rng, max(0, (n-1)*ldb+k), 1)
	c := make([]float32, m*ldc)
	for i := range c {
		c[i] = sentinel
	}
	for i := range m {
		for j := range n {
			c[i*ldc+j] = float32(rng.NormFloat64())
		}
	}
	want := append([]float32(nil), c...)
	gemmBF16Ref(m, n, k, a, lda, b, ldb, want, ldc, accumulate)
	c0 := append([]float32(nil), c...)
	if err := gemmBF16With(vec, m, n, k, a, lda, b, ldb, c, ldc, accumulate); err != nil {
		t.Fatalf("m=%d n=%d k=%d: %v", m, n, k, err)
	}
	for i := range m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= n {
				if got != sentinel {
					t.Fatalf("m=%d n=%d k=%d pad=%d acc=%v: C[%d, %d] past n was written: %v", m, n, k, pad, accumulate, i, j, got)
				}
				continue
			}
			var s float64
			for p := range k {
				s += math.Abs(bf16Float64(a[i*lda+p]) * bf16Float64(b[j*ldb+p]))
			}
			if accumulate {
				s += math.Abs(float64(c0[i*ldc+j]))
			}
			tol := float64(k+2) * 0x1p-24 * s
			if d := math.Abs(float64(got) - float64(want[i*ldc+j])); !(d <= tol) {
				t.Fatalf("m=%d n=%d k=%d pad=%d acc=%v: C[%d, %d] = %v, reference %v (|diff| %.3g > tol %.3g)",
					m, n, k, pad, accumulate, i, j, got, want[i*ldc+j], d, tol)
			}
		}
	}
}

func TestGemmBF16MatchesRef(t *testing.T) {
	if !bf16GemmVec {
		t.Skip("this CPU lacks AVX512-BF16 (or AVX-512F): the VDPBF16PS kernels cannot run; TestGemmBF16GoMatchesRef covers the portable loop")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range bf16GemmSizes {
		for _, n := range bf16GemmSizes {
			for _, k := range bf16GemmSizes {
				pad := (m + n + k) % 4 // strides longer than the rows in most cases
				checkGemmBF16Case(t, rng, true, m, n, k, pad, (m+n+k)%2 == 1)
			}
		}
	}
	// Several packing passes along k (odd last pass) and across columns
	// (a partial last panel), both accumulate modes.
	for _, s := range [][3]int{{13, 600, 301}, {7, 1100, 513}, {6, 65, 256}, {1, 513, 257}, {8, 100, 95}} {
		for _, acc := range []bool{false, true} {
			checkGemmBF16Case(t, rng, true, s[0], s[1], s[2], 3, acc)
		}
	}
}

func TestGemmBF16GoMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, m := range []int{1, 2, 5, 17} {
		for _, n := range []int{1, 3, 16, 33} {
			for _, k := range bf16GemmSizes {
				checkGemmBF16Case(t, rng, false, m, n, k, k%3, k%2 == 0)
			}
		}
	}
	// Several blocks of A's and B's rows, the last ones partial.
	for _, s := range [][3]int{{70, 300, 33}, {130, 520, 8}} {
		checkGemmBF16Case(t, rng, false, s[0], s[1], s[2], 1, true)
	}
}

// TestGemmBF16SpecialValues: an Inf in A makes its row of C Inf or NaN
// (NaN where it meets a zero of B), and a zero k leaves C zeroed or alone.
func TestGemmBF16SpecialValues(t *testing.T) {
	for _, vec := range []bool{false, true} {
		if vec && !bf16GemmVec {
			continue
		}
		const m, n, k = 3, 70, 5
		a := make([]BF16, m*k)
		b := make([]BF16, n*k)
		one := BF16(0x3f80)
		for i := range a {
			a[i] = one
		}
		for i := range b {
			b[i] = one
		}
		a[1*k+4] = 0x7f80 // +Inf at row 1, column 4 (the unpaired one)
		b[7*k+4] = 0      // a zero it meets in column 7
		c := make([]float32, m*n)
		if err := gemmBF16With(vec, m, n, k, a, k, b, k, c, n, false); err != nil {
			t.Fatal(err)
		}
		for j := range n {
			if c[j] != 5 && j != 7 || j == 7 && c[j] != 4 {
				t.Fatalf("vec=%v: C[0, %d] = %v, want 5 (4 in column 7)", vec, j, c[j])
			}
			got := c[n+j]
			if j == 7 && !math.IsNaN(float64(got)) || j != 7 && !math.IsInf(float64(got), 1) {
				t.Fatalf("vec=%v: C[1, %d] = %v, want +Inf (NaN in column 7: Inf·0)", vec, j, got)
			}
		}
		if err := gemmBF16With(vec, m, n, 0, nil, 0, nil, 0, c, n, true); err != nil || c[0] != 5 {
			t.Fatalf("vec=%v: k=0 accumulate: C[0,0] = %v (%v), want 5 kept", vec, c[0], err)
		}
		if err := gemmBF16With(vec, m, n, 0, nil, 0, nil, 0, c, n, false); err != nil || c[0] != 0 || c[m*n-1] != 0 {
			t.Fatalf("vec=%v: k=0: C[0,0] = %v (%v), want 0", vec, c[0], err)
		}
	}
}

func TestGemmBF16Errors(t *testing.T) {
	a, b, c := make([]BF16, 6), make([]BF16, 6), make([]float32, 4)
	for _, tc := range []struct {
		name          string
		m, n, k       int
		lda, ldb, ldc int
		la, lb, lc    int
		want          string
	}{
		{"negative m", -1, 2, 3, 3, 3, 2, 6, 6, 4, "must not be negative"},
		{"short lda", 2, 2, 3, 2, 3, 2, 6, 6, 4, "lda=2 is less than k=3"},
		{"short ldb", 2, 2, 3, 3, 1, 2, 6, 6, 4, "ldb=1 is less than k=3"},
		{"short ldc", 2, 2, 3, 3, 3, 1, 6, 6, 4, "ldc=1 is less than n=2"},
		{"short a", 2, 2, 3, 3, 3, 2, 5, 6, 4, "a has 5 elements but A [m, k]"},
		{"short b", 2, 2, 3, 3, 3, 2, 6, 5, 4, "b has 5 elements but B [n, k]"},
		{"short c", 2, 2, 3, 3, 3, 2, 6, 6, 3, "c has 3 elements but C [m, n]"},
		{"overflow", 2, 2, 3, math.MaxInt, 3, 2, 6, 6, 4, "overflow"},
		{"negative stride, empty", 0, 0, 0, -1, 0, 0, 0, 0, 0, "lda=-1"},
	} {
		err := GemmBF16(tc.m, tc.n, tc.k, a[:tc.la], tc.lda, b[:tc.lb], tc.ldb, c[:tc.lc], tc.ldc, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if err := GemmBF16(2, 2, 3, a, 3, b, 3, c, 2, false); err != nil {
		t.Errorf("valid call: %v", err)
	}
}

// BenchmarkGemmBF16 times GemmBF16 against the float32 GEMM the package
// runs (sgemmTiled on AVX-512, else the BLAS), both on one core, computing
// C = A·Bᵀ from the same values, alternately in each iteration. It reports
// each one's best GFLOP/s and bf16/fp32, their ratio.
func BenchmarkGemmBF16(b *testing.B) {
	for _, s := range [][3]int{{512, 512, 512}, {256, 1024, 4096}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		ah, bh := randBF16(rng, m*k, 1), randBF16(rng, n*k, 1)
		af, bf := make([]float32, m*k), make([]float32, n*k)
		FromBF16(af, ah)
		FromBF16(bf, bh)
		c := make([]float32, m*n)
		b.Run(fmt.Sprintf("M=%d,N=%d,K=%d", m, n, k), func(b *testing.B) {
			best := [2]time.Duration{time.Hour, time.Hour}
			for range b.N {
				for i, run := range []func(){
					func() {
						if err := GemmBF16(m, n, k, ah, k, bh, k, c, n, false); err != nil {
							b.Fatal(err)
						}
					},
					func() {
						if hasAVX512 {
							sgemmTiled(DefaultEngine(), false, true, m, n, k, 1, af, k, bf, k, 0, c, n)
						} else {
							sgemm(false, true, m, n, k, 1, af, k, bf, k, 0, c, n)
						}
					},
				} {
					start := time.Now()
					run()
					best[i] = min(best[i], time.Since(start))
				}
			}
			flops := 2 * float64(m*n*k)
			b.ReportMetric(flops/best[0].Seconds()/1e9, "bf16-GFLOP/s")
			b.ReportMetric(flops/best[1].Seconds()/1e9, "fp32-GFLOP/s")
			b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "bf16/fp32")
		})
	}
}
