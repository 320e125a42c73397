package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/moetrain/moetrain/autograd"
)

// metadataKey is the reserved header key holding the string metadata map.
const metadataKey = "__metadata__"

// entry is one tensor to write: its header fields and a function that
// streams exactly size bytes of little-endian data.
type entry struct {
	name  string
	dtype string
	shape []int
	size  int64
	write func(w io.Writer) error
}

// headerEntry is a tensor's record in the JSON header.
type headerEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// checkName rejects tensor names the format cannot carry.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty tensor name")
	}
	if name == metadataKey {
		return fmt.Errorf("tensor name %q is reserved", name)
	}
	return nil
}

// tensorEntry describes an autograd tensor as F32 or F64.
func tensorEntry(name string, t *autograd.Tensor) (entry, error) {
	if err := checkName(name); err != nil {
		return entry{}, err
	}
	if t == nil {
		return entry{}, fmt.Errorf("tensor %q is nil", name)
	}
	shape := append([]int{}, t.Shape()...)
	n, _ := numel(shape, 8)
	if n != t.Len() {
		return entry{}, fmt.Errorf("tensor %q: shape %v but %d elements", name, shape, t.Len())
	}
	if t.DType() == autograd.Float64 {
		v := t.F64()
		return entry{name, DTypeF64, shape, 8 * int64(n), func(w io.Writer) error { return writeF64(w, v) }}, nil
	}
	v := t.F32()
	return entry{name, DTypeF32, shape, 4 * int64(n), func(w io.Writer) error { return writeF32(w, v) }}, nil
}

// rawEntry describes a RawTensor as stored.
func rawEntry(name string, r RawTensor) (entry, error) {
	if err := checkName(name); err != nil {
		return entry{}, err
	}
	if err := r.check(); err != nil {
		return entry{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	data := r.Data
	write := func(w io.Writer) error { _, err := w.Write(data); return err }
	return entry{name, r.DType, append([]int{}, r.Shape...), int64(len(data)), write}, nil
}

// tensorEntries converts a name->tensor map into entries.
func tensorEntries(tensors map[string]*autograd.Tensor) ([]entry, error) {
	es := make([]entry, 0, len(tensors))
	for name, t := range tensors {
		e, err := tensorEntry(name, t)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, nil
}

// encodeHeader returns the JSON header for entries (which it sorts by
// name, fixing the data order), padded with spaces to a multiple of 8 bytes.
func encodeHeader(entries []entry, meta map[string]string) ([]byte, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		buf.WriteString(`"` + metadataKey + `":`)
		buf.Write(m)
	}
	var off int64
	for i, e := range entries {
		if i > 0 || len(meta) > 0 {
			buf.WriteByte(',')
		}
		name, err := json.Marshal(e.name)
		if err != nil {
			return nil, err
		}
		rec, err := json.Marshal(headerEntry{e.dtype, e.shape, [2]int64{off, off + e.size}})
		if err != nil {
			return nil, err
		}
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(rec)
		off += e.size
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	return buf.Bytes(), nil
}

// encode writes a complete safetensors stream: length, header, data.
func encode(w io.Writer, entries []entry, meta map[string]string) error {
	header, err := encodeHeader(entries, meta)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, e := range entries {
		if err := e.write(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteSafetensors writes tensors (float32 as F32, float64 as F64, in name
// order) and the optional string metadata to path atomically: it writes a
// temporary file in the same directory, fsyncs it, renames it over path and
// fsyncs the directory, so path holds either the old or the complete new file.
func WriteSafetensors(path string, tensors map[string]*autograd.Tensor, meta map[string]string) error {
	es, err := tensorEntries(tensors)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return writeEntries(path, es, meta)
}

// WriteSafetensorsRaw is WriteSafetensors for tensors given as stored bytes,
// which may have any supported dtype.
func WriteSafetensorsRaw(path string, tensors map[string]RawTensor, meta map[string]string) error {
	es := make([]entry, 0, len(tensors))
	for name, r := range tensors {
		e, err := rawEntry(name, r)
		if err != nil {
			return fmt.Errorf("safetensors %s: %w", path, err)
		}
		es = append(es, e)
	}
	return writeEntries(path, es, meta)
}

// writeEntries encodes entries into path through writeFileAtomic.
func writeEntries(path string, es []entry, meta map[string]string) error {
	pattern := "." + filepath.Base(path) + ".tmp-*"
	_, err := writeFileAtomic(path, pattern, func(w io.Writer) error { return encode(w, es, meta) })
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return nil
}
