package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Names inside a run directory.
const (
	// CheckpointsDir is the subdirectory of a run directory holding steps.
	CheckpointsDir = "checkpoints"
	// LatestFile names, inside the checkpoints directory, the text file that
	// holds the name of the most recently saved step directory.
	LatestFile = "latest"
	// ManifestFile, ModelFile and OptimizerFile are the files of a step directory.
	ManifestFile  = "manifest.json"
	ModelFile     = "model.safetensors"
	OptimizerFile = "optimizer.safetensors"

	stepPrefix = "step-"
	tempPrefix = ".tmp-"
)

// StepDirName returns the directory name of a step: "step-" and the step
// zero-padded to 8 digits. It panics if step is negative.
func StepDirName(step int) string {
	if step < 0 {
		panic(fmt.Sprintf("checkpoint.StepDirName: negative step %d", step))
	}
	return fmt.Sprintf("%s%08d", stepPrefix, step)
}

// ParseStepDirName returns the step a directory name encodes and whether
// the name is one StepDirName produces.
func ParseStepDirName(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, stepPrefix)
	if !ok || len(digits) < 8 || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false
	}
	step, err := strconv.Atoi(digits)
	if err != nil || StepDirName(step) != name {
		return 0, false
	}
	return step, true
}

// stepEntry is a step directory found in a checkpoints directory.
type stepEntry struct {
	name string
	step int
}

// listSteps returns the step directories of ckDir in ascending step order,
// ignoring temporary debris and anything not named like a step.
func listSteps(ckDir string) ([]stepEntry, error) {
	des, err := os.ReadDir(ckDir)
	if err != nil {
		return nil, err
	}
	var out []stepEntry
	for _, de := range des {
		if step, ok := ParseStepDirName(de.Name()); ok && de.IsDir() {
			out = append(out, stepEntry{de.Name(), step})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].step < out[j].step })
	return out, nil
}

// readLatest returns the step directory name held by ckDir/latest. A missing
// file is reported with an error satisfying errors.Is(err, fs.ErrNotExist).
func readLatest(ckDir string) (string, error) {
	path := filepath.Join(ckDir, LatestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	name := string(bytes.TrimSpace(b))
	if _, ok := ParseStepDirName(name); !ok {
		return "", fmt.Errorf("%s holds %q, not a step directory name like %s", path, name, StepDirName(0))
	}
	return name, nil
}

// writeLatest atomically points ckDir/latest at the step directory name.
func writeLatest(ckDir, name string) error {
	path := filepath.Join(ckDir, LatestFile)
	_, err := writeFileAtomic(path, tempPrefix+LatestFile+"-*", func(w io.Writer) error {
		_, err := io.WriteString(w, name+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s: %w", path, err)
	}
	return nil
}

// removeStale deletes the temporary files and directories an interrupted
// Save or Prune left in ckDir.
func removeStale(ckDir string) error {
	des, err := os.ReadDir(ckDir)
	if err != nil {
		return err
	}
	var errs []error
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			errs = append(errs, os.RemoveAll(filepath.Join(ckDir, de.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove stale temporaries: %w", err)
	}
	return nil
}

// isFile reports whether path exists and is a regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// isDir reports whether path exists and is a directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// Steps returns the steps of the complete checkpoints (step directories
// holding a manifest) under runDir/checkpoints, in ascending order; none,
// and no error, when runDir has no checkpoints directory. Commands that
// would write a fresh run into runDir use it to refuse to bury one.
func Steps(runDir string) ([]int, error) {
	ckDir := filepath.Join(runDir, CheckpointsDir)
	entries, err := listSteps(ckDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", ckDir, err)
	}
	var out []int
	for _, e := range entries {
		if isFile(filepath.Join(ckDir, e.name, ManifestFile)) {
			out = append(out, e.step)
		}
	}
	return out, nil
}
