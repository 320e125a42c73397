package autograd

import "golang.org/x/sys/cpu"

// hasAVX512 selects the AVX-512 kernels that have no AVX2 form (attention's
// tile products and rows, RoPE, RMSNorm's backward rows, touchLines); tests
// clear it to cover the Go loops they must match.
var hasAVX512 = cpu.X86.HasAVX512F

// actSIMD is the vector instruction set the float32 activation kernels use,
// the widest this CPU (and its operating system) supports. Tests lower it to
// compare the paths.
var actSIMD = actSIMDDetect()

func actSIMDDetect() actSIMDLevel {
	switch {
	case cpu.X86.HasAVX512F:
		return actSIMDAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return actSIMDAVX2
	}
	return actSIMDNone
}

// actVecKernels is one instruction set's vector bodies of the float32
// activation kernels (simd_avx512_amd64.s, simd_avx2_amd64.s). Each
// processes all of its first slice, whose length must be a multiple of
// width, and reads as many elements of the others.
type actVecKernels struct {
	width                            int
	sigmoidFwd, siluFwd              func(out, x []float32)
	sigmoidBwd, siluBwd, swigluBwdUp func(dx, g, x []float32)
	swigluFwd                        func(out, gate, up []float32)
	swigluBwd                        func(dgate, dup, g, gate, up []float32, overwrite bool)
	swigluBwdGate                    func(dgate, g, gate, up []float32)
}

var actVec = [...]*actVecKernels{
	actSIMDAVX2: {4, sigmoidFwdAVX2, siluFwdAVX2, sigmoidBwdAVX2, siluBwdAVX2, swigluBwdUpAVX2,
		swigluFwdAVX2, swigluBwdAVX2, swigluBwdGateAVX2},
	actSIMDAVX512: {8, sigmoidFwdAVX512, siluFwdAVX512, sigmoidBwdAVX512, siluBwdAVX512, swigluBwdUpAVX512,
		swigluFwdAVX512, swigluBwdAVX512, swigluBwdGateAVX512},
}

// actVecLen returns the vector kernels for actSIMD and the length of the
// prefix of n elements they process, or nil and 0.
func actVecLen(n int) (*actVecKernels, int) {
	k := actVec[actSIMD]
	if k == nil {
		return nil, 0
	}
	return k, n &^ (k.width - 1)
}

func sigmoidFwdVec(out, x []float32) int {
	k, n := actVecLen(len(out))
	if n > 0 {
		k.sigmoidFwd(out[:n], x[:n])
	}
	return n
}

func sigmoidBwdVec(dx, g, x []float32) int {
	k, n := actVecLen(len(dx))
	if n > 0 {
		k.sigmoidBwd(dx[:n], g[:n], x[:n])
	}
	return n
}

func siluFwdVec(out, x []float32) int {
	k, n := actVecLen(len(out))
	if n > 0 {
		k.siluFwd(out[:n], x[:n])
	}
	return n
}

func siluBwdVec(dx, g, x []float32) int {
	k, n := actVecLen(len(dx))
	if n > 0 {
		k.siluBwd(dx[:n], g[:n], x[:n])
	}
	return n
}

func swigluFwdVec(out, gate, up []float32) int {
	k, n := actVecLen(len(out))
	if n > 0 {
		k.swigluFwd(out[:n], gate[:n], up[:n])
	}
	return n
}

func swigluBwdVec(dgate, dup, g, gate, up []float32, overwrite bool) int {
	k, n := actVecLen(len(dgate))
	if n > 0 {
		k.swigluBwd(dgate[:n], dup[:n], g[:n], gate[:n], up[:n], overwrite)
	}
	return n
}

func swigluBwdGateVec(dgate, g, gate, up []float32) int {
	k, n := actVecLen(len(dgate))
	if n > 0 {
		k.swigluBwdGate(dgate[:n], g[:n], gate[:n], up[:n])
	}
	return n
}

func swigluBwdUpVec(dup, g, gate []float32) int {
	k, n := actVecLen(len(dup))
	if n > 0 {
		k.swigluBwdUp(dup[:n], g[:n], gate[:n])
	}
	return n
}

// The vector bodies, in simd_avx2_amd64.s and simd_avx512_amd64.s. AVX2
// ones take lengths that are multiples of 4, AVX-512 ones multiples of 8.

//go:noescape
func sigmoidFwdAVX2(out, x []float32)

//go:noescape
func siluFwdAVX2(out, x []float32)

//go:noescape
func sigmoidBwdAVX2(dx, g, x []float32)

//go:noescape
func siluBwdAVX2(dx, g, x []float32)

//go:noescape
func swigluBwdUpAVX2(dup, g, gate []float32)

//go:noescape
func swigluFwdAVX2(out, gate, up []float32)

//go:noescape
func swigluBwdAVX2(dgate, dup, g, gate, up []float32, overwrite bool)

//go:noescape
func swigluBwdGateAVX2(dgate, g, gate, up []float32)

//go:noescape
func sigmoidFwdAVX512(out, x []float32)

//go:noescape
func siluFwdAVX512(out, x []float32)

//go:noescape
func sigmoidBwdAVX512(dx, g, x []float32)

//go:noescape
func siluBwdAVX512(dx, g, x []float32)

//go:noescape
func swigluBwdUpAVX512(dup, g, gate []float32)

//go:noescape
func swigluFwdAVX512(out, gate, up []float32)

//go:noescape
func swigluBwdAVX512(dgate, dup, g, gate, up []float32, overwrite bool)

//go:noescape
func swigluBwdGateAVX512(dgate, g, gate, up []float32)

// expSubSumVec runs the vector kernel of expSubSumF32 on the prefix of dst
// whose length is a multiple of 8 and returns that length and the prefix's
// sum, or 0 and 0 without one.
func expSubSumVec(dst, src []float32, shift float32) (int, float64) {
	n := len(dst) &^ 7
	if n == 0 {
		return 0, 0
	}
	switch actSIMD {
	case actSIMDAVX512:
		return n, expSubSumAVX512(dst[:n], src[:n], shift)
	case actSIMDAVX2:
		return n, expSubSumAVX2(dst[:n], src[:n], shift)
	}
	return 0, 0
}

// expSubSumAVX2 and expSubSumAVX512 take lengths that are multiples of 8.

//go:noescape
func expSubSumAVX2(dst, src []float32, shift float32) float64

//go:noescape
func expSubSumAVX512(dst, src []float32, shift float32) float64
