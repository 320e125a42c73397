package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Resolve turns a user's checkpoint argument into a step directory for
// Load. arg may be
//   - a step directory (it holds manifest.json),
//   - a checkpoints directory (it holds latest, or step directories), or
//   - a run directory (it holds checkpoints/).
//
// In a checkpoints directory the step that latest names wins; without a
// latest file, the highest complete step directory does. Temporary debris
// of interrupted saves is never chosen. Errors say what was looked for.
func Resolve(arg string) (string, error) {
	if arg == "" {
		return "", errors.New("checkpoint: empty path; want a run, checkpoints or step directory")
	}
	st, err := os.Stat(arg)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("checkpoint %s: is a file; want a run, checkpoints or step directory", arg)
	}
	switch {
	case isFile(filepath.Join(arg, ManifestFile)):
		return filepath.Clean(arg), nil
	case isFile(filepath.Join(arg, LatestFile)):
		return resolveIn(arg)
	case isDir(filepath.Join(arg, CheckpointsDir)):
		return resolveIn(filepath.Join(arg, CheckpointsDir))
	}
	if _, ok := ParseStepDirName(filepath.Base(filepath.Clean(arg))); ok {
		return "", fmt.Errorf("checkpoint %s: step directory has no %s (incomplete or not a checkpoint)", arg, ManifestFile)
	}
	if steps, err := listSteps(arg); err == nil && len(steps) > 0 {
		return resolveIn(arg)
	}
	return "", fmt.Errorf("checkpoint %s: not a checkpoint: looked for %s (step directory), %s or step-NNNNNNNN directories (checkpoints directory), and %s/ (run directory)",
		arg, ManifestFile, LatestFile, CheckpointsDir)
}

// resolveIn picks the step directory of checkpoints directory ckDir.
func resolveIn(ckDir string) (string, error) {
	name, err := readLatest(ckDir)
	switch {
	case err == nil:
		dir := filepath.Join(ckDir, name)
		if !isFile(filepath.Join(dir, ManifestFile)) {
			return "", fmt.Errorf("checkpoint %s: %s names %s, which has no %s",
				ckDir, LatestFile, name, ManifestFile)
		}
		return dir, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("checkpoint %s: %w", ckDir, err)
	}
	steps, err := listSteps(ckDir)
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", ckDir, err)
	}
	for i := len(steps) - 1; i >= 0; i-- {
		dir := filepath.Join(ckDir, steps[i].name)
		if isFile(filepath.Join(dir, ManifestFile)) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("checkpoint %s: no checkpoint: looked for %s and step-NNNNNNNN directories with a %s",
		ckDir, LatestFile, ManifestFile)
}
