package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// maxHeaderBytes bounds the safetensors header safetensorsCounts reads.
const maxHeaderBytes = 100 << 20

// safetensorsCounts returns the number of tensors in the safetensors file
// at path and their total element count, from its header alone (8-byte
// little-endian length, then a JSON object of name -> {dtype, shape,
// data_offsets} and an optional "__metadata__").
func safetensorsCounts(path string) (tensors int, elements int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return 0, 0, fmt.Errorf("%s: reading the header length: %w", path, err)
	}
	if n > maxHeaderBytes || int64(n) > st.Size()-8 {
		return 0, 0, fmt.Errorf("%s: header of %d bytes in a file of %d; the file is damaged", path, n, st.Size())
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return 0, 0, fmt.Errorf("%s: reading the header: %w", path, err)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b, &h); err != nil {
		return 0, 0, fmt.Errorf("%s: header: %w", path, err)
	}
	for name, raw := range h {
		if name == "__metadata__" {
			continue
		}
		var rec struct {
			Shape []int64 `json:"shape"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return 0, 0, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		count := int64(1)
		for _, d := range rec.Shape {
			if d < 0 || (d > 0 && count > (1<<62)/d) {
				return 0, 0, fmt.Errorf("%s: tensor %q has shape %v; the file is damaged", path, name, rec.Shape)
			}
			count *= d
		}
		tensors++
		elements += count
	}
	return tensors, elements, nil
}
