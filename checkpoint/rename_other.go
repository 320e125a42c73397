//go:build !linux

package checkpoint

import "os"

// replaceDir renames directory src to dst, moving an existing dst aside
// first (not atomic: see replaceDirAside).
func replaceDir(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !occupied(err) {
		return err
	}
	return replaceDirAside(src, dst)
}
