//go:build linux

package checkpoint

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// replaceDir renames directory src to dst. If dst is an existing directory
// the two are exchanged atomically (renameat2 RENAME_EXCHANGE), so dst is
// never missing, and the old contents, now at src, are removed.
func replaceDir(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !occupied(err) {
		return err
	}
	err = unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return replaceDirAside(src, dst) // file system without exchange
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: src, New: dst, Err: err}
	}
	os.RemoveAll(src) // on failure, debris for the next Save to remove
	return nil
}
