package checkpoint

import (
	"encoding/binary"
	"math"
)

// Safetensors dtype names this package reads. Writers here emit only F32 and
// F64 (from autograd tensors) or whatever a RawTensor carries.
const (
	DTypeF64  = "F64"
	DTypeF32  = "F32"
	DTypeF16  = "F16"
	DTypeBF16 = "BF16"
	DTypeI64  = "I64"
	DTypeI32  = "I32"
	DTypeI16  = "I16"
	DTypeI8   = "I8"
	DTypeU64  = "U64"
	DTypeU32  = "U32"
	DTypeU16  = "U16"
	DTypeU8   = "U8"
	DTypeBool = "BOOL"
)

// dtypeSize maps each supported dtype to its element size in bytes.
var dtypeSize = map[string]int{
	DTypeF64: 8, DTypeF32: 4, DTypeF16: 2, DTypeBF16: 2,
	DTypeI64: 8, DTypeI32: 4, DTypeI16: 2, DTypeI8: 1,
	DTypeU64: 8, DTypeU32: 4, DTypeU16: 2, DTypeU8: 1,
	DTypeBool: 1,
}

// DTypeSize returns the element size in bytes of a safetensors dtype name,
// or 0 if this package does not support it.
func DTypeSize(dtype string) int { return dtypeSize[dtype] }

// nativeLE reports whether the host is little-endian, in which case float
// tensors are read and written without per-element conversion. Tests turn
// it off to exercise the portable path.
var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// bf16ToF32 widens a bfloat16 (the top half of a float32) exactly.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f16ToF32 widens an IEEE 754 half-precision value exactly, including
// subnormals, infinities and NaN payloads.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal half: frac * 2^-24 is a normal float32.
	v := float32(frac) * (1.0 / (1 << 24))
	return math.Float32frombits(sign | math.Float32bits(v))
}
