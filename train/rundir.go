package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/checkpoint"
)

// MetricsFile is the name of a run directory's metrics log.
const MetricsFile = "metrics.jsonl"

// RunDirInUseError says that a fresh run or an import would bury the run
// already in Dir: its checkpoints (up to LastStep) or its metrics log.
type RunDirInUseError struct {
	Dir      string
	LastStep int  // newest complete checkpoint; -1 when there is none
	Metrics  bool // Dir holds metrics.jsonl
}

func (e *RunDirInUseError) Error() string {
	return fmt.Sprintf("run directory %s already holds a run (%s)", e.Dir, e.Holds())
}

// Holds describes what the directory holds, e.g. "checkpoints up to step
// 300 and metrics.jsonl".
func (e *RunDirInUseError) Holds() string {
	switch {
	case e.LastStep >= 0 && e.Metrics:
		return fmt.Sprintf("checkpoints up to step %d and %s", e.LastStep, MetricsFile)
	case e.LastStep >= 0:
		return fmt.Sprintf("checkpoints up to step %d", e.LastStep)
	}
	return MetricsFile
}

// ClaimRunDir prepares dir for a fresh run or an import. A directory that
// holds no complete checkpoint and no metrics log is left as it is. One that
// does is refused with a *RunDirInUseError unless force is set, in which
// case its checkpoints directory and metrics log are deleted.
func ClaimRunDir(dir string, force bool) error {
	steps, err := checkpoint.Steps(dir)
	if err != nil {
		return err
	}
	metrics := filepath.Join(dir, MetricsFile)
	_, statErr := os.Stat(metrics)
	inUse := &RunDirInUseError{Dir: dir, LastStep: -1, Metrics: statErr == nil}
	if len(steps) > 0 {
		inUse.LastStep = steps[len(steps)-1]
	}
	if inUse.LastStep < 0 && !inUse.Metrics {
		return nil
	}
	if !force {
		return inUse
	}
	if err := os.RemoveAll(filepath.Join(dir, checkpoint.CheckpointsDir)); err != nil {
		return fmt.Errorf("starting over in %s: %w", dir, err)
	}
	if err := os.Remove(metrics); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("starting over in %s: %w", dir, err)
	}
	return nil
}
