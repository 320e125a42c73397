package autograd

import (
	"math"
	"unsafe"
)

const (
	nnLog2E = 1.4426950408889634 // 1 / ln 2
	nnLn2   = 0.6931471805599453
)

// nnExp returns e^v: math.Exp for float64, and the faster nnExp32 for
// float32, where full double precision would be wasted.
func nnExp[T Float](v T) T {
	if unsafe.Sizeof(v) == 4 {
		return T(nnExp32(float32(v)))
	}
	return T(math.Exp(float64(v)))
}

// nnExp32 returns e^x rounded to float32, with a relative error within
// about half a unit in the last place (see TestExp32Accuracy). It reduces
// x = n·ln2 + r with |r| <= ln2/2 in float64, evaluates the degree-7 Taylor
// polynomial of e^r (truncation error below 6e-9) by Estrin's scheme, and
// scales by 2^n through the exponent bits. NaN gives NaN, x < -104 gives 0
// (below the smallest float32 subnormal) and x > 89 gives +Inf.
func nnExp32(x float32) float32 {
	if !(x >= -104) {
		if x != x {
			return x
		}
		return 0
	}
	if x > 89 {
		return float32(math.Inf(1))
	}
	xd := float64(x)
	// Truncating a positive number is floor: the bias keeps it positive.
	n := int64(xd*nnLog2E+1024.5) - 1024
	r := xd - float64(n)*nnLn2
	r2 := r * r
	p := (1 + r) + r2*(1.0/2+r*(1.0/6)) +
		r2*r2*((1.0/24+r*(1.0/120))+r2*(1.0/720+r*(1.0/5040)))
	return float32(p * math.Float64frombits(uint64(n+1023)<<52))
}
