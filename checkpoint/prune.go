package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Prune keeps the keep highest-numbered step directories under
// runDir/checkpoints, and the one latest names whatever its step, and
// removes the rest, returning the names removed in ascending step order.
// keep <= 0 keeps everything. Each directory is first renamed to a
// temporary name, so a crash mid-removal leaves only debris that loads
// ignore and the next Save removes.
func Prune(runDir string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	ckDir := filepath.Join(runDir, CheckpointsDir)
	steps, err := listSteps(ckDir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint prune: %w", err)
	}
	latest, err := readLatest(ckDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint prune: %w", err)
	}
	var removed, doomed []string
	for _, s := range steps[:max(0, len(steps)-keep)] {
		if s.name == latest {
			continue
		}
		trash := filepath.Join(ckDir, fmt.Sprintf("%sprune-%s-%d", tempPrefix, s.name, time.Now().UnixNano()))
		if err := os.Rename(filepath.Join(ckDir, s.name), trash); err != nil {
			return removed, fmt.Errorf("checkpoint prune: %w", err)
		}
		removed = append(removed, s.name)
		doomed = append(doomed, trash)
	}
	if len(doomed) == 0 {
		return nil, nil
	}
	if err := syncDir(ckDir); err != nil {
		return removed, fmt.Errorf("checkpoint prune: %w", err)
	}
	for _, d := range doomed {
		if err := os.RemoveAll(d); err != nil {
			return removed, fmt.Errorf("checkpoint prune: %w", err)
		}
	}
	return removed, nil
}
