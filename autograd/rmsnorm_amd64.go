package autograd

//go:noescape
func rmsDotAVX512(dy, w, x *float32, n int, acc *[rmsLanes]float64)

//go:noescape
func rmsDxAVX512(dx, dy, w, x *float32, n int, a, c float32)

//go:noescape
func rmsAccAVX512(acc *float64, dy, x *float32, n int, rs float64)

// The vector kernels of rmsNormBackwardRow for float32 rows: each runs on
// the longest prefix its width divides and returns that prefix's length.

func rmsDotVec32(dy, w, x []float32, acc *[rmsLanes]float64) int {
	n := len(x) &^ (rmsLanes - 1)
	if !hasAVX512 || n == 0 {
		return 0
	}
	_, _ = dy[n-1], w[n-1]
	rmsDotAVX512(&dy[0], &w[0], &x[0], n, acc)
	return n
}

func rmsDxVec32(dx, dy, w, x []float32, a, c float32) int {
	n := len(x) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	_, _, _ = dx[n-1], dy[n-1], w[n-1]
	rmsDxAVX512(&dx[0], &dy[0], &w[0], &x[0], n, a, c)
	return n
}

func rmsAccVec32(acc []float64, dy, x []float32, rs float64) int {
	n := len(x) &^ 7
	if !hasAVX512 || n == 0 {
		return 0
	}
	_, _ = acc[n-1], dy[n-1]
	rmsAccAVX512(&acc[0], &dy[0], &x[0], n, rs)
	return n
}
