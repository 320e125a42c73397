package data

import (
	"fmt"
	"os"

	"github.com/moetrain/moetrain/data/internal/regfile"
)

// openRegular opens a data file, refusing devices, pipes and sockets (see
// regfile.Open), and returns it with its size.
func openRegular(path string) (*os.File, int64, error) {
	f, size, err := regfile.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	return f, size, nil
}

// readRegular reads a whole data file, refusing devices, pipes and sockets and
// files over limit bytes (0: no limit).
func readRegular(path string, limit int64) ([]byte, error) {
	b, err := regfile.ReadFile(path, limit)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return b, nil
}
