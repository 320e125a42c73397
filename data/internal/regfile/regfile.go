// Package regfile opens only regular files, so that a path naming a device,
// a pipe or a socket (/dev/zero, /dev/stdin, a FIFO) is an error and not an
// endless read or a hang, and reads whole files no larger than a limit.
package regfile

import (
	"fmt"
	"io"
	"os"
)

// Open opens path for reading and returns the file and its size. It refuses
// anything but a regular file (following symlinks) before opening it, so a
// FIFO is refused without blocking on it.
func Open(path string) (*os.File, int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !info.Mode().IsRegular() {
		return nil, 0, notRegular(path, info.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	info, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, notRegular(path, info.Mode())
	}
	return f, info.Size(), nil
}

// ReadFile returns the contents of the regular file path, refusing one larger
// than limit bytes (limit <= 0: no limit beyond the file's own size).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if limit > 0 && size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d this file may hold; check the path", path, size, limit)
	}
	// Read at most size+1 bytes: a file that grows while it is read cannot
	// make this read without end.
	b, err := io.ReadAll(io.LimitReader(f, size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > size {
		return nil, fmt.Errorf("%s grew while it was read; read it again once it is complete", path)
	}
	return b, nil
}

func notRegular(path string, mode os.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode&os.ModeDevice != 0:
		kind = "a device"
	case mode&os.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&os.ModeSocket != 0:
		kind = "a socket"
	case mode.IsDir():
		kind = "a directory"
	}
	return fmt.Errorf("%s is %s, not a regular file; give the path of a file", path, kind)
}
