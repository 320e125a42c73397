package autograd

import (
	"fmt"
	"math"
)

// GemmBF16 computes C = A·Bᵀ, or C += A·Bᵀ when accumulate, from bfloat16
// operands with float32 accumulation and output:
//
//	C[i, j] (+)= Σ_p A[i, p]·B[j, p]
//
// A: [m, k] row-major with row stride lda (A[i, p] = a[i·lda + p]).
// B: [n, k] row-major with row stride ldb (B[j, p] = b[j·ldb + p]), the
// layout of a weight W [Out, In], so that Y = X·Wᵀ is GemmBF16(N, Out, In,
// x, In, w, In, y, Out, false).
// C: [m, n] row-major with row stride ldc.
//
// On CPUs with AVX512-BF16 it runs the VDPBF16PS kernels (GemmBF16Kernel
// reports which): products of pairs along k are summed in float32 with
// denormals flushed to zero, so results differ from a sequential float32
// sum by rounding. Elsewhere a portable loop widens the operands (exactly)
// and sums in float32. With k = 0, C is zeroed, or left alone when
// accumulate. It returns an error, and writes nothing, when a dimension
// is negative, a stride is shorter than its row, or a slice is too short
// for the dimensions and strides.
func GemmBF16(m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) error {
	return gemmBF16With(bf16GemmVec, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// GemmBF16Kernel names what runs GemmBF16 on this CPU: "avx512bf16" (the
// VDPBF16PS kernels) or "go" (the portable loop).
func GemmBF16Kernel() string {
	if bf16GemmVec {
		return "avx512bf16"
	}
	return "go"
}

// gemmBF16With is GemmBF16 on the vector kernels when vec (which the CPU
// must support), else on the portable loop.
func gemmBF16With(vec bool, m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) error {
	if err := checkGemmBF16(m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 {
		if !accumulate {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return nil
	}
	if vec {
		gemmBF16Tiled(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return nil
	}
	gemmBF16Go(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	return nil
}

// checkGemmBF16 validates GemmBF16's dimensions, strides and slice lengths.
func checkGemmBF16(m, n, k, la, lda, lb, ldb, lc, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("autograd: GemmBF16: m=%d, n=%d, k=%d: dimensions must not be negative", m, n, k)
	}
	for _, s := range []struct {
		name        string
		rows, cols  int
		ld, have    int
		dimR, dimC  string
		description string
	}{
		{"a", m, k, lda, la, "m", "k", "A [m, k]"},
		{"b", n, k, ldb, lb, "n", "k", "B [n, k]"},
		{"c", m, n, ldc, lc, "m", "n", "C [m, n]"},
	} {
		if s.rows == 0 || s.cols == 0 {
			if s.ld < 0 {
				return fmt.Errorf("autograd: GemmBF16: ld%s=%d: strides must not be negative", s.name, s.ld)
			}
			continue
		}
		if s.ld < s.cols {
			return fmt.Errorf("autograd: GemmBF16: ld%s=%d is less than %s=%d, the row length of %s; pass a stride of at least %d",
				s.name, s.ld, s.dimC, s.cols, s.description, s.cols)
		}
		need, ok := matrixLen(s.rows, s.cols, s.ld)
		if !ok {
			return fmt.Errorf("autograd: GemmBF16: %s=%d rows of stride ld%s=%d overflow an int", s.dimR, s.rows, s.name, s.ld)
		}
		if s.have < need {
			return fmt.Errorf("autograd: GemmBF16: %s has %d elements but %s with %s=%d, %s=%d, ld%s=%d needs %d",
				s.name, s.have, s.description, s.dimR, s.rows, s.dimC, s.cols, s.name, s.ld, need)
		}
	}
	return nil
}

// matrixLen returns (rows-1)·ld + cols, the elements a row-major matrix
// spans, and false if that overflows an int. rows, cols >= 1, ld >= cols.
func matrixLen(rows, cols, ld int) (int, bool) {
	if rows-1 > (math.MaxInt-cols)/ld {
		return 0, false
	}
	return (rows-1)*ld + cols, true
}

// Blocks of the portable loop: A's rows and B's rows are widened to
// float32 this many at a time, so its buffers stay bounded (goRowsA+goRowsB
// rows of k) however large the operands.
const (
	bf16GoRowsA = 64
	bf16GoRowsB = 256
)

// gemmBF16Go is GemmBF16's portable loop: blocks of A's and B's rows
// widened to float32, dot products in float32 four columns of k at a time.
func gemmBF16Go(m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) {
	af := make([]float32, min(m, bf16GoRowsA)*k) // A's rows [i0, i0+mb) [mb, k], dense
	bf := make([]float32, min(n, bf16GoRowsB)*k) // B's rows [j0, j0+nb) [nb, k], dense
	k4 := k &^ 3
	for j0 := 0; j0 < n; j0 += bf16GoRowsB {
		nb := min(bf16GoRowsB, n-j0)
		for j := range nb {
			FromBF16(bf[j*k:(j+1)*k], b[(j0+j)*ldb:(j0+j)*ldb+k])
		}
		for i0 := 0; i0 < m; i0 += bf16GoRowsA {
			mb := min(bf16GoRowsA, m-i0)
			for i := range mb {
				FromBF16(af[i*k:(i+1)*k], a[(i0+i)*lda:(i0+i)*lda+k])
			}
			for i := range mb {
				ai := af[i*k : (i+1)*k]
				row := c[(i0+i)*ldc+j0 : (i0+i)*ldc+j0+nb]
				for j := range row {
					bj := bf[j*k : (j+1)*k]
					var s0, s1, s2, s3 float32
					for p := 0; p < k4; p += 4 {
						s0 += ai[p] * bj[p]
						s1 += ai[p+1] * bj[p+1]
						s2 += ai[p+2] * bj[p+2]
						s3 += ai[p+3] * bj[p+3]
					}
					for p := k4; p < k; p++ {
						s0 += ai[p] * bj[p]
					}
					s := (s0 + s1) + (s2 + s3)
					if accumulate {
						row[j] += s
					} else {
						row[j] = s
					}
				}
			}
		}
	}
}

// gemmBF16Ref is GemmBF16's definition for tests: the widened bfloat16
// values multiplied and summed in float64, the sum rounded once to float32
// (and added to C's float32 value when accumulate).
func gemmBF16Ref(m, n, k int, a []BF16, lda int, b []BF16, ldb int, c []float32, ldc int, accumulate bool) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				s += bf16Float64(a[i*lda+p]) * bf16Float64(b[j*ldb+p])
			}
			if accumulate {
				s += float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(s)
		}
	}
}

// bf16Float64 widens one bfloat16 exactly.
func bf16Float64(h BF16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }
