package optim

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func adamwAVX512(pp, gp, mp, vp *float32, n int, c *[9]float32)

// hasAVX512 selects the vector AdamW kernel; tests clear it to cover the Go loop.
var hasAVX512 = cpu.X86.HasAVX512F

// adamwVec32 updates the longest multiple-of-16 prefix of p, g, m, v (all of
// one length) with the AVX-512 kernel and returns how many elements it did.
func adamwVec32(p, g, m, v []float32, c *[9]float32) int {
	n := len(p) &^ 15
	if !hasAVX512 || n == 0 {
		return 0
	}
	adamwAVX512(unsafe.SliceData(p), unsafe.SliceData(g), unsafe.SliceData(m), unsafe.SliceData(v), n, c)
	return n
}

//go:noescape
func sumSquaresAVX512(xp *float32, n int, acc *[sumLanes]float64)

// sumSquaresVec32 adds x[i]*x[i] (in float64) to acc[i mod sumLanes] over the
// longest multiple-of-sumLanes prefix of x and returns its length.
func sumSquaresVec32(x []float32, acc *[sumLanes]float64) int {
	n := len(x) &^ (sumLanes - 1)
	if !hasAVX512 || n == 0 {
		return 0
	}
	sumSquaresAVX512(unsafe.SliceData(x), n, acc)
	return n
}
