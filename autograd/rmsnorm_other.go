//go:build !amd64

package autograd

// The vector kernels of rmsNormBackwardRow: none off amd64.

func rmsDotVec32(dy, w, x []float32, acc *[rmsLanes]float64) int { return 0 }
func rmsDxVec32(dx, dy, w, x []float32, a, c float32) int        { return 0 }
func rmsAccVec32(acc []float64, dy, x []float32, rs float64) int { return 0 }
