package autograd

import (
	"fmt"
	"math"
)

// BF16 is a bfloat16 number: the upper 16 bits of an IEEE 754 float32 (sign,
// 8 exponent bits, 7 mantissa bits). It has float32's range with 8 bits of
// precision; widening it back to float32 is exact.
type BF16 uint16

// ToBF16 rounds each src[i] to the nearest bfloat16, ties to even, into
// dst[i], with the semantics of the x86 VCVTNEPS2BF16 instruction on every
// CPU:
//
//   - ±0 and ±Inf are kept; finite values that round past the largest
//     bfloat16 become ±Inf.
//   - A NaN keeps its sign and the upper 7 bits of its payload and is made
//     quiet (mantissa bit 6 set), so a signalling NaN, even one whose payload
//     lies only in the dropped low bits, stays a NaN.
//   - Subnormal inputs are flushed to zero of the same sign, as the
//     instruction does (it treats denormal inputs as zero whatever MXCSR
//     says; the kernel tests check the instruction against this rule on
//     the CPU they run on). Normal inputs never round to a subnormal
//     bfloat16, since both formats share float32's exponent range.
//
// dst and src: [n]. It panics if their lengths differ.
func ToBF16(dst []BF16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("autograd: ToBF16: dst has %d elements but src has %d; pass slices of equal length", len(dst), len(src)))
	}
	n := toBF16Vec(dst, src)
	toBF16Ref(dst[n:], src[n:])
}

// FromBF16 widens each src[i] to float32 into dst[i], exactly (a 16-bit
// shift: NaN payloads and subnormals are kept as they are).
//
// dst and src: [n]. It panics if their lengths differ.
func FromBF16(dst []float32, src []BF16) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("autograd: FromBF16: dst has %d elements but src has %d; pass slices of equal length", len(dst), len(src)))
	}
	n := fromBF16Vec(dst, src)
	fromBF16Ref(dst[n:], src[n:])
}

// BF16Kernel names the conversion kernels ToBF16 and FromBF16 use on this
// CPU: "avx512bf16" (VCVTNE2PS2BF16 rounding, AVX-512F widening), "avx512"
// (AVX-512F integer rounding and widening, with AVX512BW and VL for the
// masked tails) or "go" (the portable loops). All give the same bits.
func BF16Kernel() string { return bf16Use.String() }

// bf16Level is a set of conversion kernels, ordered by the instructions
// they need: each needs those of the levels below it.
type bf16Level int

const (
	bf16Go         bf16Level = iota // the portable loops
	bf16AVX512                      // AVX-512F, BW and VL
	bf16AVX512BF16                  // and AVX512-BF16
)

// String names the level as BF16Kernel does.
func (l bf16Level) String() string {
	switch l {
	case bf16AVX512:
		return "avx512"
	case bf16AVX512BF16:
		return "avx512bf16"
	}
	return "go"
}

// toBF16Ref is the portable ToBF16 loop, the reference the vector kernels
// must match bit for bit. dst and src: [n].
func toBF16Ref(dst []BF16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = toBF16One(f)
	}
}

// toBF16One rounds one float32 to bfloat16 as ToBF16 documents.
func toBF16One(f float32) BF16 {
	b := math.Float32bits(f)
	switch {
	case b&0x7f800000 == 0: // zero or subnormal: signed zero
		return BF16(b>>16) & 0x8000
	case b&0x7fffffff > 0x7f800000: // NaN: truncate, set the quiet bit
		return BF16(b>>16) | 0x0040
	}
	// Round to nearest even by integer addition: 0x7fff plus the lowest kept
	// bit carries into the kept half exactly when the dropped half is above
	// one half, or equal to it with an odd kept half. Inf has a zero dropped
	// half and stays Inf; the largest finite values carry into Inf. No
	// 32-bit overflow: b <= 0xff7fffff.
	return BF16((b + 0x7fff + (b>>16)&1) >> 16)
}

// fromBF16Ref is the portable FromBF16 loop. dst and src: [n].
func fromBF16Ref(dst []float32, src []BF16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}
