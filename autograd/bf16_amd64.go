package autograd

import "golang.org/x/sys/cpu"

//go:generate go run ../tools/bf16asm bf16_amd64.s

// bf16Use is the conversion kernel level this CPU supports, fixed at start.
var bf16Use = bf16Detect()

func bf16Detect() bf16Level {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VL {
		return bf16Go
	}
	if cpu.X86.HasAVX512BF16 {
		return bf16AVX512BF16
	}
	return bf16AVX512
}

// bf16Supported reports whether this CPU can run level l's kernels.
func bf16Supported(l bf16Level) bool { return l <= bf16Use }

// toBF16Vec converts src with the fastest kernel and returns how many
// elements it converted: all of them, or 0 without a vector kernel.
func toBF16Vec(dst []BF16, src []float32) int { return toBF16With(bf16Use, dst, src) }

// fromBF16Vec widens src with the fastest kernel and returns how many
// elements it widened: all of them, or 0 without a vector kernel.
func fromBF16Vec(dst []float32, src []BF16) int { return fromBF16With(bf16Use, dst, src) }

// toBF16With converts src into dst (equal lengths) with level l's kernel,
// which the CPU must support, and returns the count converted.
func toBF16With(l bf16Level, dst []BF16, src []float32) int {
	n := len(src)
	if n == 0 || len(dst) < n {
		return 0
	}
	switch l {
	case bf16AVX512BF16:
		toBF16AVX512BF16(&dst[0], &src[0], n)
	case bf16AVX512:
		toBF16AVX512(&dst[0], &src[0], n)
	default:
		return 0
	}
	return n
}

// fromBF16With widens src into dst (equal lengths) with level l's kernel,
// which the CPU must support, and returns the count widened. Both vector
// levels widen with AVX-512F.
func fromBF16With(l bf16Level, dst []float32, src []BF16) int {
	n := len(src)
	if n == 0 || len(dst) < n || l < bf16AVX512 {
		return 0
	}
	fromBF16AVX512(&dst[0], &src[0], n)
	return n
}

// The kernels, in bf16_amd64.s. Each converts all n elements.

//go:noescape
func toBF16AVX512BF16(dst *BF16, src *float32, n int)

//go:noescape
func toBF16AVX512(dst *BF16, src *float32, n int)

//go:noescape
func fromBF16AVX512(dst *float32, src *BF16, n int)
