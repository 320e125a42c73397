package checkpoint

import (
	"bufio"
	"fmt"
	"os"
)

// readHeaderFile reads and validates only the header of the safetensors file
// at path: names, dtypes, shapes and offsets, checked against the file's real
// size, without reading tensor data.
func readHeaderFile(path string) (*header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := readHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return h, nil
}
