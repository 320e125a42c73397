package checkpoint

import (
	"encoding/binary"
	"io"
	"math"
	"unsafe"
)

// chunkBytes is the staging buffer size for converting floats to and from
// bytes on the portable (non-little-endian) path.
const chunkBytes = 64 << 10

// decodeF32 fills v from little-endian bytes b (len(b) == 4*len(v)).
func decodeF32(v []float32, b []byte) {
	if nativeLE && len(v) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)), b)
		return
	}
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// decodeF64 fills v from little-endian bytes b (len(b) == 8*len(v)).
func decodeF64(v []float64, b []byte) {
	if nativeLE && len(v) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v)), b)
		return
	}
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
}

// writeF32 streams v to w as little-endian bytes.
func writeF32(w io.Writer, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	if nativeLE {
		_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
		return err
	}
	buf := make([]byte, chunkBytes)
	for len(v) > 0 {
		n := min(len(v), chunkBytes/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		if _, err := w.Write(buf[:4*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// writeF64 streams v to w as little-endian bytes.
func writeF64(w io.Writer, v []float64) error {
	if len(v) == 0 {
		return nil
	}
	if nativeLE {
		_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v)))
		return err
	}
	buf := make([]byte, chunkBytes)
	for len(v) > 0 {
		n := min(len(v), chunkBytes/8)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
		}
		if _, err := w.Write(buf[:8*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

// readF32 fills v with little-endian floats read from r.
func readF32(r io.Reader, v []float32) error {
	if len(v) == 0 {
		return nil
	}
	if nativeLE {
		_, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v)))
		return err
	}
	buf := make([]byte, chunkBytes)
	for len(v) > 0 {
		n := min(len(v), chunkBytes/4)
		if _, err := io.ReadFull(r, buf[:4*n]); err != nil {
			return err
		}
		decodeF32(v[:n], buf)
		v = v[n:]
	}
	return nil
}

// readF64 fills v with little-endian floats read from r.
func readF64(r io.Reader, v []float64) error {
	if len(v) == 0 {
		return nil
	}
	if nativeLE {
		_, err := io.ReadFull(r, unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v)))
		return err
	}
	buf := make([]byte, chunkBytes)
	for len(v) > 0 {
		n := min(len(v), chunkBytes/8)
		if _, err := io.ReadFull(r, buf[:8*n]); err != nil {
			return err
		}
		decodeF64(v[:n], buf)
		v = v[n:]
	}
	return nil
}
