package autograd

import (
	"math"
	"unsafe"
)

const (
	nnLog2E = 1.4426950408889634 // 1 / ln 2
	nnLn2   = 0.6931471805599453
)

// nnExp returns e^v: math.Exp for float64; for float32, expLane (the scalar
// form of the vector kernels, within 0.6 float32 ulp) rounded once, so the
// scalar and vector paths agree.
func nnExp[T Float](v T) T {
	if unsafe.Sizeof(v) == 4 {
		return T(float32(expLane(float64(v))))
	}
	return T(math.Exp(float64(v)))
}
