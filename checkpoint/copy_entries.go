package checkpoint

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// UnlistedEntries returns the entries of stepDir that its manifest does not
// list (a LoRA adapter directory, say), which a rewrite of the checkpoint
// carries over as they are (CopyEntries).
func UnlistedEntries(stepDir string) ([]string, error) {
	m, err := ReadManifest(stepDir)
	if err != nil {
		return nil, err
	}
	des, err := os.ReadDir(stepDir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", stepDir, err)
	}
	var out []string
	for _, de := range des {
		if _, listed := m.Files[de.Name()]; !listed && de.Name() != ManifestFile {
			out = append(out, de.Name())
		}
	}
	return out, nil
}

// CopyEntries copies the named entries of src (regular files and
// directories, recursively) into dst, fsyncing every file and directory it
// makes; anything else (a link, a device) is an error naming it.
func CopyEntries(src, dst string, names []string) error {
	for _, name := range names {
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		st, err := os.Lstat(from)
		if err != nil {
			return err
		}
		switch {
		case st.Mode().IsRegular():
			err = copyFileSynced(from, to)
		case st.IsDir():
			err = copyDir(from, to)
		default:
			err = fmt.Errorf("%s is neither a file nor a directory; remove it or copy the checkpoint by hand", from)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies directory from to the new directory to.
func copyDir(from, to string) error {
	if err := os.Mkdir(to, 0o755); err != nil {
		return err
	}
	des, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	names := make([]string, len(des))
	for i, de := range des {
		names[i] = de.Name()
	}
	if err := CopyEntries(from, to, names); err != nil {
		return err
	}
	return syncDir(to)
}

// copyFileSynced copies regular file from to the new file to and fsyncs it.
func copyFileSynced(from, to string) error {
	r, err := os.Open(from)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return nil
}
