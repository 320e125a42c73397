//go:build !amd64

package optim

// hasAVX512 is false off amd64: there is no vector kernel.
var hasAVX512 = false

// adamwVec32 has no vector kernel on this architecture: the Go loop does all.
func adamwVec32(p, g, m, v []float32, c *[9]float32) int { return 0 }

// sumSquaresVec32 has no vector kernel on this architecture.
func sumSquaresVec32(x []float32, acc *[sumLanes]float64) int { return 0 }
