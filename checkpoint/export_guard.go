package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// runDirKind says what kind of moetrain directory dir is: "step directory"
// (it holds manifest.json), "checkpoints directory" (latest or step
// directories), "run directory" (a checkpoints subdirectory), or "".
func runDirKind(dir string) string {
	switch {
	case isFile(filepath.Join(dir, ManifestFile)):
		return "step directory"
	case isFile(filepath.Join(dir, LatestFile)):
		return "checkpoints directory"
	}
	if steps, err := listSteps(dir); err == nil && len(steps) > 0 {
		return "checkpoints directory"
	}
	if sub := filepath.Join(dir, CheckpointsDir); isDir(sub) && runDirKind(sub) == "checkpoints directory" {
		return "run directory"
	}
	return ""
}

// CheckExportDir refuses an export destination out that would damage what
// the user has. Always refused: out being the source step directory srcStep,
// or holding a model file that is the source's. Refused unless force: out
// that is, or lies inside, a run, checkpoints or step directory (export would
// mix HF files into it), and out that already holds config.json or
// model.safetensors (export would overwrite them). Errors name the
// directory and say what to do.
func CheckExportDir(out, srcStep string, force bool) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if src, err := filepath.Abs(srcStep); err == nil {
		srcModel := filepath.Join(src, ModelFile)
		if same(abs, src) || same(filepath.Join(abs, HFWeightsFile), srcModel) {
			return fmt.Errorf("--out %s is the checkpoint being exported (%s): exporting would overwrite its %s; pass another --out", out, srcStep, ModelFile)
		}
	}
	if force {
		return nil
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		if kind := runDirKind(dir); kind != "" {
			where := "is"
			if dir != abs {
				where = "is inside"
			}
			return fmt.Errorf("--out %s %s the %s %s: export would write %s and %s among a run's files; pass a directory outside any run (or --force to write there anyway)",
				out, where, kind, dir, HFConfigFile, HFWeightsFile)
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	for _, name := range []string{HFConfigFile, HFWeightsFile} {
		p := filepath.Join(abs, name)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("--out %s already holds %s, which export would overwrite: pass an empty or new directory, or --force to replace it", out, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--out %s: %w", out, err)
		}
	}
	return nil
}

// same reports whether a and b name the same existing file or directory
// (through a hard or symbolic link included).
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
