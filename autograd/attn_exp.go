package autograd

import "math"

// Attention's exponentials run in float32 lanes, 16 to an AVX-512 vector: a
// score row's e^(s - max) needs float32 accuracy only, and the float64-lane
// kernel the activations use (expSubSumF32) does half the work per
// instruction plus three conversions. BenchmarkAttnExpRow, 128-element rows:
// 0.57 ns an element against 0.80-0.81 for the float64-lane kernel (best of
// three runs each, one build).

// Constants of expLane32 (attn_exp_amd64.s holds the same bits).
const (
	ax32Lo    float32 = -120 // e^-120 rounds to 0 in float32, e^120 to +Inf
	ax32Hi    float32 = 120
	ax32Log2E float32 = 1.44269504
	ax32Magic float32 = 1.5 * (1 << 23) // adding it rounds to an integer
	ax32Ln2Hi float32 = 0.693359375     // ln 2 in 9 bits: n·ln2Hi is exact
	ax32Ln2Lo float32 = -2.12194440e-4  // ln 2 - ln2Hi
)

// expLane32 returns e^x in float32 as expSum16AVX512 computes each lane: for
// c = clamp(x, -120, 120), n = round(c log2 e) and r = c - n ln2 (|r| <=
// ln2/2, in two steps), e^c = 2^n p(r) with p the degree-7 Taylor polynomial
// of e^r, every multiply and add rounded to float32 on its own (no fused
// multiply-adds, so that Go and the vector kernel agree bit for bit). Within
// 1.5 float32 units in the last place (1.1 measured); 2^n scales exactly,
// with one rounding where the result is subnormal; NaN passes.
func expLane32(x float32) float32 {
	c := min(max(x, ax32Lo), ax32Hi)
	if c != c {
		return c
	}
	n := float32(c*ax32Log2E) + ax32Magic - ax32Magic
	r := c - float32(n*ax32Ln2Hi)
	r -= float32(n * ax32Ln2Lo)
	p := float32(1.0 / 5040)
	for _, k := range [...]float32{1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1, 1} {
		p = float32(p*r) + k
	}
	return float32(math.Ldexp(float64(p), int(n)))
}

// expSum16Lanes is expSum16AVX512 in Go: dst[i] = expLane32(src[i]-shift)
// over the longest multiple-of-16 prefix of dst, whose length it returns
// with the sum of those values, lane l of 16 adding elements l, l+16, ...
// and the lanes combined as the vector kernel combines them.
func expSum16Lanes(dst, src []float32, shift float32) (int, float32) {
	n := len(dst) &^ 15
	var s [16]float32
	for i := 0; i < n; i += 16 {
		for l := range s {
			e := expLane32(src[i+l] - shift)
			dst[i+l] = e
			s[l] += e
		}
	}
	for w := 8; w >= 1; w /= 2 { // lanes l + l+8, then + l+4, + l+2, + l+1
		for l := range w {
			s[l] += s[l+w]
		}
	}
	return n, s[0]
}

// expSum16 sets dst[i] = expLane32(src[i]-shift) for every i (len(src) >=
// len(dst); dst and src may be the same slice) and returns their float32
// sum: whole groups of 16 first, then the rest as one more group
// (expPaddedTail).
func expSum16(dst, src []float32, shift float32) float32 {
	src = src[:len(dst)]
	i, sum := expSum16Groups(dst, src, shift)
	if i < len(dst) {
		sum += float32(expPaddedTail(dst[i:], src[i:], shift, 16))
	}
	return sum
}

// expSum16Groups runs the vector kernel, or its Go form, on the prefix of
// dst whose length is a multiple of 16, and returns that length and its sum.
func expSum16Groups(dst, src []float32, shift float32) (int, float32) {
	if i, sum := expSum16Vec(dst, src, shift); i > 0 {
		return i, sum
	}
	return expSum16Lanes(dst, src, shift)
}

// expPaddedTail runs an exponential kernel over one whole group of lanes on
// the last few elements of a row: src's fewer than lanes elements padded
// with -Inf, whose exponentials add exactly 0. lanes 8 is expSubSumF32's
// kernel (float64 lanes, float64 sum), 16 expSum16's (float32 lanes, a
// float32 sum, which float64 holds exactly). It writes the exponentials to
// dst and returns their sum. (Taking the kernel as a function value would
// move the padded group to the heap on every call.)
func expPaddedTail(dst, src []float32, shift float32, lanes int) float64 {
	var in, out [16]float32
	copy(in[:], src)
	for j := len(src); j < lanes; j++ {
		in[j] = float32(math.Inf(-1))
	}
	var sum float64
	if lanes == 8 {
		_, sum = expSubSum8(out[:8], in[:8], shift)
	} else {
		_, s := expSum16Groups(out[:16], in[:16], shift)
		sum = float64(s)
	}
	copy(dst, out[:len(src)])
	return sum
}
