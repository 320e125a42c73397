package autograd

//go:noescape
func ropeRowsAVX512(y1, y2, x1, x2, c, s *float32, n int, inverse, add bool)

// ropeVec32 runs the vector kernel of nnRopeRow on the longest
// multiple-of-16 prefix of the half rows and returns its length.
func ropeVec32(y1, y2, x1, x2, c, s []float32, inverse, add bool) int {
	n := len(c) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	_, _, _, _, _ = y1[n-1], y2[n-1], x1[n-1], x2[n-1], s[n-1]
	ropeRowsAVX512(&y1[0], &y2[0], &x1[0], &x2[0], &c[0], &s[0], n, inverse, add)
	return n
}
