package autograd

//go:noescape
func expSum16AVX512(dst, src []float32, shift float32) float32

// expSum16Vec runs expSum16AVX512 on the longest multiple-of-16 prefix of
// dst and returns its length and sum (0, 0 without AVX-512).
func expSum16Vec(dst, src []float32, shift float32) (int, float32) {
	n := len(dst) &^ 15
	if !hasAVX512 || n == 0 {
		return 0, 0
	}
	return n, expSum16AVX512(dst[:n], src[:n], shift)
}
