package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// maxHeaderBytes bounds the JSON header a reader accepts.
const maxHeaderBytes = 100 << 20

// maxNameBytes bounds one tensor name, so that the errors which quote names
// stay short (real names are under 200 bytes).
const maxNameBytes = 1024

// tensorInfo is one validated header record.
type tensorInfo struct {
	name       string
	dtype      string
	shape      []int
	begin, end int64 // offsets into the data section
}

// header is a validated safetensors header.
type header struct {
	meta    map[string]string
	tensors []tensorInfo // in data order
}

// wireEntry is a header record as decoded, before validation.
type wireEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// readHeader reads the header length and JSON header from r, positioned at
// the start of a safetensors stream of size bytes, and validates every
// record against the others and against the data section's length.
func readHeader(r io.Reader, size int64) (*header, error) {
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for the 8-byte header length (truncated?)", size)
	}
	var nb [8]byte
	if _, err := io.ReadFull(r, nb[:]); err != nil {
		return nil, fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(nb[:])
	switch {
	case n < 2:
		return nil, fmt.Errorf("header length %d is too small for a JSON object", n)
	case n > maxHeaderBytes:
		return nil, fmt.Errorf("header length %d exceeds the %d-byte limit (corrupt length?)", n, maxHeaderBytes)
	case int64(n) > size-8:
		return nil, fmt.Errorf("header length %d exceeds the %d bytes after the length field (truncated?)", n, size-8)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading %d-byte header: %w", n, err)
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("header does not start with '{'")
	}
	var records map[string]json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil {
		return nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	h := &header{}
	for name, rec := range records {
		if len(name) > maxNameBytes {
			return nil, fmt.Errorf("a tensor name of %d bytes (%q...) exceeds the %d-byte limit; the header is damaged or not a model's",
				len(name), name[:64], maxNameBytes)
		}
		if name == metadataKey {
			if err := json.Unmarshal(rec, &h.meta); err != nil {
				return nil, fmt.Errorf("%s is not a string map: %w", metadataKey, err)
			}
			continue
		}
		ti, err := parseRecord(name, rec)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		h.tensors = append(h.tensors, ti)
	}
	if err := checkLayout(h.tensors, size-8-int64(n)); err != nil {
		return nil, err
	}
	return h, nil
}

// parseRecord decodes and checks one tensor record on its own.
func parseRecord(name string, rec json.RawMessage) (tensorInfo, error) {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(rec))
	if err := dec.Decode(&w); err != nil {
		return tensorInfo{}, fmt.Errorf("bad record: %w", err)
	}
	size := dtypeSize[w.DType]
	switch {
	case size == 0:
		return tensorInfo{}, fmt.Errorf("unsupported dtype %q", w.DType)
	case w.Shape == nil:
		return tensorInfo{}, fmt.Errorf("missing shape")
	case len(w.Offsets) != 2:
		return tensorInfo{}, fmt.Errorf("data_offsets has %d entries, want 2", len(w.Offsets))
	case w.Offsets[0] < 0 || w.Offsets[1] < w.Offsets[0]:
		return tensorInfo{}, fmt.Errorf("invalid data_offsets %v", w.Offsets)
	}
	n, ok := numel(w.Shape, size)
	if !ok {
		return tensorInfo{}, fmt.Errorf("invalid shape %v", w.Shape)
	}
	if span := w.Offsets[1] - w.Offsets[0]; int64(n*size) != span {
		return tensorInfo{}, fmt.Errorf("shape %v of %s needs %d bytes but data_offsets %v span %d",
			w.Shape, w.DType, n*size, w.Offsets, span)
	}
	return tensorInfo{name: name, dtype: w.DType, shape: w.Shape, begin: w.Offsets[0], end: w.Offsets[1]}, nil
}

// checkLayout sorts ts into data order and checks that they lie inside the
// dataLen-byte data section and tile it exactly: no overlap, no gap, no
// trailing bytes (as the format requires).
func checkLayout(ts []tensorInfo, dataLen int64) error {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].begin != ts[j].begin {
			return ts[i].begin < ts[j].begin
		}
		if ts[i].end != ts[j].end {
			return ts[i].end < ts[j].end
		}
		return ts[i].name < ts[j].name
	})
	for _, t := range ts {
		if t.end > dataLen {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d data bytes in the file (truncated?)",
				t.name, t.begin, t.end, dataLen)
		}
	}
	var cursor int64
	for i, t := range ts {
		if t.begin < cursor {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q", t.name, t.begin, t.end, ts[i-1].name)
		}
		if t.begin > cursor {
			return fmt.Errorf("tensor %q: %d unindexed bytes before its data_offsets [%d, %d]",
				t.name, t.begin-cursor, t.begin, t.end)
		}
		cursor = t.end
	}
	if cursor != dataLen {
		return fmt.Errorf("%d bytes after the last tensor's data are not indexed by the header", dataLen-cursor)
	}
	return nil
}
