//go:build !amd64

package autograd

// hasAVX512 is false outside amd64: the kernels it selects run as Go loops.
var hasAVX512 = false

// actSIMD is the vector instruction set the float32 activation kernels use;
// there is none outside amd64.
var actSIMD = actSIMDDetect()

func actSIMDDetect() actSIMDLevel { return actSIMDNone }

// The vector bodies of the float32 activation kernels: each processes a
// prefix of its slices and returns how many elements it did, here none.

func sigmoidFwdVec(out, x []float32) int                                 { return 0 }
func sigmoidBwdVec(dx, g, x []float32) int                               { return 0 }
func siluFwdVec(out, x []float32) int                                    { return 0 }
func siluBwdVec(dx, g, x []float32) int                                  { return 0 }
func swigluFwdVec(out, gate, up []float32) int                           { return 0 }
func swigluBwdVec(dgate, dup, g, gate, up []float32, overwrite bool) int { return 0 }
func swigluBwdGateVec(dgate, g, gate, up []float32) int                  { return 0 }
func swigluBwdUpVec(dup, g, gate []float32) int                          { return 0 }

// expSubSumVec is the vector kernel of expSubSumF32: it returns the length
// of the prefix it did and that prefix's sum, here none.
func expSubSumVec(dst, src []float32, shift float32) (int, float64) { return 0, 0 }
