package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// occupied reports whether a rename failed because its target is an
// existing non-empty directory.
func occupied(err error) bool {
	return errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}

// replaceDirAside replaces directory dst with src by moving dst aside to a
// temporary name first. Between the two renames dst does not exist; it is
// the fallback where an atomic exchange is unavailable.
func replaceDirAside(src, dst string) error {
	old := filepath.Join(filepath.Dir(dst),
		fmt.Sprintf("%s%s-old-%d", tempPrefix, filepath.Base(dst), time.Now().UnixNano()))
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return errors.Join(err, fmt.Errorf("restore %s: %w", dst, rerr))
		}
		return err
	}
	os.RemoveAll(old) // on failure, debris for the next Save to remove
	return nil
}
