package checkpoint

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FileSum is a file's size and SHA-256 as recorded in a manifest.
type FileSum struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lowercase hex
}

// countWriter counts the bytes written through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// fillFile runs fill on a buffered writer over f, then flushes, fsyncs and
// closes f, returning the size and SHA-256 of what fill wrote. f is closed
// whatever happens.
func fillFile(f *os.File, fill func(io.Writer) error) (FileSum, error) {
	h := sha256.New()
	var c countWriter
	bw := bufio.NewWriterSize(f, 1<<20)
	err := fill(io.MultiWriter(bw, h, &c))
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{Size: c.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeSynced creates path (which must not exist), fills it and fsyncs it.
// The caller fsyncs the directory.
func writeSynced(path string, fill func(io.Writer) error) (FileSum, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return FileSum{}, err
	}
	sum, err := fillFile(f, fill)
	if err != nil {
		return FileSum{}, fmt.Errorf("write %s: %w", path, err)
	}
	return sum, nil
}

// writeFileAtomic replaces path with the bytes fill writes: a temporary file
// named by pattern (os.CreateTemp syntax) in path's directory is filled,
// fsynced, renamed over path, and the directory is fsynced. On error the
// temporary file is removed and path is untouched.
func writeFileAtomic(path, pattern string, fill func(io.Writer) error) (FileSum, error) {
	sum, err := publishFile(path, pattern, fill)
	if err != nil {
		return FileSum{}, err
	}
	return sum, syncDir(filepath.Dir(path))
}

// publishFile is writeFileAtomic without the directory's fsync after the
// rename: for a file whose appearance hands the directory to someone else
// (a rank's shard record, after which rank 0 syncs the pending directory and
// renames it away), so the writer must not touch the directory again. The
// directory is fsynced before the rename instead, making the files written
// into it so far durable.
func publishFile(path, pattern string, fill func(io.Writer) error) (FileSum, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return FileSum{}, err
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return FileSum{}, err
	}
	sum, err := fillFile(f, fill)
	if err == nil {
		err = syncDir(dir)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return FileSum{}, err
	}
	return sum, nil
}

// syncDir fsyncs a directory so that entries created or renamed in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
