package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// adapterTempPrefix starts the temporary directory SaveAdapter fills
// beside dir; os.MkdirTemp appends random digits.
func adapterTempPrefix(base string) string { return tempPrefix + base + ".adapter-" }

// writeAdapterDir replaces dir (cleaned) with a directory holding the
// adapter's config and weights files: both are written into a temporary
// directory beside dir and fsynced, then the directory is renamed into
// place and its parent fsynced.
func writeAdapterDir(dir string, pc peftConfigOut, es []entry, meta map[string]string) error {
	base := filepath.Base(dir)
	if base == "." || base == ".." || base == string(filepath.Separator) {
		return fmt.Errorf("give the adapter directory by name (a path such as runs/x/adapter), not %q", dir)
	}
	cfgJSON, err := json.MarshalIndent(pc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", PEFTConfigFile, err)
	}
	cfgJSON = append(cfgJSON, '\n')
	if err := checkAdapterDir(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if err := removeAdapterDebris(parent, base); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, adapterTempPrefix(base))
	if err != nil {
		return err
	}
	if err := fillAdapterDir(tmp, cfgJSON, es, meta); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := replaceDir(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return syncDir(parent)
}

// fillAdapterDir writes the two adapter files into the empty directory tmp
// and fsyncs them and tmp.
func fillAdapterDir(tmp string, cfgJSON []byte, es []entry, meta map[string]string) error {
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := writeSynced(filepath.Join(tmp, PEFTWeightsFile), func(w io.Writer) error { return encode(w, es, meta) }); err != nil {
		return err
	}
	if _, err := writeSynced(filepath.Join(tmp, PEFTConfigFile), func(w io.Writer) error {
		_, err := w.Write(cfgJSON)
		return err
	}); err != nil {
		return err
	}
	return syncDir(tmp)
}

// checkAdapterDir accepts a dir that does not exist yet or is a directory
// holding nothing but adapter files, since SaveAdapter replaces it whole.
func checkAdapterDir(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link: give the directory it points to", dir)
	case !st.IsDir():
		return fmt.Errorf("%s exists and is not a directory: give a new or an adapter directory", dir)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var other []string
	for _, de := range des {
		if n := de.Name(); n != PEFTConfigFile && n != PEFTWeightsFile {
			other = append(other, n)
		}
	}
	if len(other) > 0 {
		if len(other) > 5 {
			other = append(other[:5], fmt.Sprintf("and %d more", len(other)-5))
		}
		return fmt.Errorf("%s holds %s besides adapter files, which saving would delete (the directory is replaced whole): save into a new directory",
			dir, strings.Join(other, ", "))
	}
	return nil
}

// removeAdapterDebris removes what an interrupted SaveAdapter of base left
// in parent: its temporary directory, or the old directory replaceDirAside
// moved away. Other entries are left alone.
func removeAdapterDebris(parent, base string) error {
	des, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	var errs []error
	for _, de := range des {
		n := de.Name()
		for _, prefix := range []string{adapterTempPrefix(base), tempPrefix + base + "-old-"} {
			if rest, ok := strings.CutPrefix(n, prefix); ok && allDigits(rest) {
				errs = append(errs, os.RemoveAll(filepath.Join(parent, n)))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove the debris of an interrupted save: %w", err)
	}
	return nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
