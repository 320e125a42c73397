package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/moetrain/moetrain/autograd"
)

// RawTensor is one safetensors entry as stored: a dtype name, a shape, and
// the little-endian element bytes.
type RawTensor struct {
	DType string
	Shape []int
	Data  []byte
}

// numel returns the element count of shape and whether it is valid (no
// negative dimension, no overflow of a byte count with elements of size).
func numel(shape []int, size int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/size/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// check reports whether r's dtype is supported and its byte length matches
// its shape.
func (r RawTensor) check() error {
	size := dtypeSize[r.DType]
	if size == 0 {
		return fmt.Errorf("unsupported dtype %q", r.DType)
	}
	n, ok := numel(r.Shape, size)
	if !ok {
		return fmt.Errorf("invalid shape %v", r.Shape)
	}
	if n*size != len(r.Data) {
		return fmt.Errorf("shape %v of %s needs %d bytes, have %d", r.Shape, r.DType, n*size, len(r.Data))
	}
	return nil
}

// Tensor converts r to an autograd tensor: F32 and F64 keep their precision,
// F16 and BF16 widen to float32. Integer dtypes are an error.
func (r RawTensor) Tensor() (*autograd.Tensor, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b := r.Data
	switch r.DType {
	case DTypeF32:
		v := make([]float32, len(b)/4)
		decodeF32(v, b)
		return autograd.FromSlice(v, r.Shape...), nil
	case DTypeF64:
		v := make([]float64, len(b)/8)
		decodeF64(v, b)
		return autograd.FromSlice(v, r.Shape...), nil
	case DTypeF16, DTypeBF16:
		v := make([]float32, len(b)/2)
		widen := f16ToF32
		if r.DType == DTypeBF16 {
			widen = bf16ToF32
		}
		for i := range v {
			v[i] = widen(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return autograd.FromSlice(v, r.Shape...), nil
	}
	return nil, fmt.Errorf("dtype %s is not a float type", r.DType)
}

// Int64s returns the elements of an integer or BOOL tensor widened to int64.
// A U64 element above math.MaxInt64 and a float dtype are errors.
func (r RawTensor) Int64s() ([]int64, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	size := dtypeSize[r.DType]
	b := r.Data
	out := make([]int64, len(b)/size)
	le := binary.LittleEndian
	for i := range out {
		switch r.DType {
		case DTypeI64:
			out[i] = int64(le.Uint64(b[8*i:]))
		case DTypeU64:
			u := le.Uint64(b[8*i:])
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("U64 element %d (%d) overflows int64", i, u)
			}
			out[i] = int64(u)
		case DTypeI32:
			out[i] = int64(int32(le.Uint32(b[4*i:])))
		case DTypeU32:
			out[i] = int64(le.Uint32(b[4*i:]))
		case DTypeI16:
			out[i] = int64(int16(le.Uint16(b[2*i:])))
		case DTypeU16:
			out[i] = int64(le.Uint16(b[2*i:]))
		case DTypeI8:
			out[i] = int64(int8(b[i]))
		case DTypeU8, DTypeBool:
			out[i] = int64(b[i])
		default:
			return nil, fmt.Errorf("dtype %s is not an integer type", r.DType)
		}
	}
	return out, nil
}

// RawInt64 returns an I64 RawTensor holding v with the given shape. It panics
// if len(v) does not match the shape.
func RawInt64(v []int64, shape ...int) RawTensor {
	if n, ok := numel(shape, 8); !ok || n != len(v) {
		panic(fmt.Sprintf("checkpoint.RawInt64: %d elements for shape %v", len(v), shape))
	}
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return RawTensor{DType: DTypeI64, Shape: append([]int{}, shape...), Data: b}
}

// RawInt32 returns an I32 RawTensor holding v with the given shape. It panics
// if len(v) does not match the shape.
func RawInt32(v []int32, shape ...int) RawTensor {
	if n, ok := numel(shape, 4); !ok || n != len(v) {
		panic(fmt.Sprintf("checkpoint.RawInt32: %d elements for shape %v", len(v), shape))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return RawTensor{DType: DTypeI32, Shape: append([]int{}, shape...), Data: b}
}
