package checkpoint

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/moetrain/moetrain/autograd"
)

// sink consumes the end-begin data bytes of one tensor from r.
type sink func(t tensorInfo, r io.Reader) error

// decode reads a safetensors stream of size bytes from r: it validates the
// header, then hands each tensor's bytes, in data order, to consume.
func decode(r io.Reader, size int64, consume sink) (map[string]string, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	for _, t := range h.tensors {
		if err := consume(t, r); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.name, err)
		}
	}
	return h.meta, nil
}

// rawSink collects tensors as stored bytes into out.
func rawSink(out map[string]RawTensor) sink {
	return func(t tensorInfo, r io.Reader) error {
		b := make([]byte, t.end-t.begin)
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("reading data: %w", err)
		}
		out[t.name] = RawTensor{DType: t.dtype, Shape: t.shape, Data: b}
		return nil
	}
}

// floatSink collects float tensors into out, widening F16 and BF16 to
// float32; integer dtypes are an error.
func floatSink(out map[string]*autograd.Tensor) sink {
	return func(t tensorInfo, r io.Reader) error {
		n := int(t.end-t.begin) / dtypeSize[t.dtype]
		var x *autograd.Tensor
		switch t.dtype {
		case DTypeF32:
			v := make([]float32, n)
			if err := readF32(r, v); err != nil {
				return fmt.Errorf("reading data: %w", err)
			}
			x = autograd.FromSlice(v, t.shape...)
		case DTypeF64:
			v := make([]float64, n)
			if err := readF64(r, v); err != nil {
				return fmt.Errorf("reading data: %w", err)
			}
			x = autograd.FromSlice(v, t.shape...)
		case DTypeF16, DTypeBF16:
			raw := map[string]RawTensor{}
			if err := rawSink(raw)(t, r); err != nil {
				return err
			}
			var err error
			if x, err = raw[t.name].Tensor(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("dtype %s is not a float type; model and optimizer files hold F32, F64, F16 or BF16 tensors (is this a file of weights?)", t.dtype)
		}
		x.Name = t.name
		out[t.name] = x
		return nil
	}
}

// readFile opens path and decodes it into consume.
func readFile(path string, consume sink) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	meta, err := decode(bufio.NewReaderSize(f, 1<<20), st.Size(), consume)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return meta, nil
}

// ReadSafetensors reads every tensor in the safetensors file at path as an
// autograd tensor named by its key: F32 and F64 keep their dtype, F16 and
// BF16 widen to float32. It returns the "__metadata__" map (nil if absent).
// A file with an integer tensor is an error; use ReadSafetensorsRaw for it.
func ReadSafetensors(path string) (map[string]*autograd.Tensor, map[string]string, error) {
	out := map[string]*autograd.Tensor{}
	meta, err := readFile(path, floatSink(out))
	if err != nil {
		return nil, nil, err
	}
	return out, meta, nil
}

// ReadSafetensorsRaw reads every tensor in the safetensors file at path as
// stored bytes, for any supported dtype, with the "__metadata__" map.
func ReadSafetensorsRaw(path string) (map[string]RawTensor, map[string]string, error) {
	out := map[string]RawTensor{}
	meta, err := readFile(path, rawSink(out))
	if err != nil {
		return nil, nil, err
	}
	return out, meta, nil
}
