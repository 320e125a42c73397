package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// NewestVerified returns the newest step directory under runDir/checkpoints
// whose files all pass Verify, for resuming a run whose latest checkpoint may
// be damaged. The search starts at the step latest names and goes down in
// step order; when latest is missing or unreadable it starts at the highest
// step directory. Every step tried and rejected is returned in rejected, in
// the order tried, each error naming the file and what is wrong with it.
// Nothing is deleted or moved. err is set when no step directory verifies,
// listing those tried.
func NewestVerified(runDir string) (stepDir string, rejected []error, err error) {
	ckDir := filepath.Join(runDir, CheckpointsDir)
	steps, err := listSteps(ckDir)
	if err != nil {
		return "", nil, fmt.Errorf("checkpoint %s: %w; want the run directory that holds %s/", runDir, err, CheckpointsDir)
	}
	start := len(steps) - 1
	name, lerr := readLatest(ckDir)
	switch {
	case lerr == nil:
		start = -1
		for i, s := range steps {
			if s.name == name {
				start = i
			}
		}
		if start < 0 {
			rejected = append(rejected, fmt.Errorf("checkpoint %s: %s names %s, which does not exist; trying the newest step directory instead",
				ckDir, filepath.Join(ckDir, LatestFile), name))
			start = len(steps) - 1
		}
	case !errors.Is(lerr, fs.ErrNotExist):
		rejected = append(rejected, fmt.Errorf("checkpoint %s: %w; trying the newest step directory instead", ckDir, lerr))
	}
	var tried []string
	for i := start; i >= 0; i-- {
		dir := filepath.Join(ckDir, steps[i].name)
		tried = append(tried, steps[i].name)
		if err := Verify(dir); err != nil {
			rejected = append(rejected, err)
			continue
		}
		return dir, rejected, nil
	}
	if len(tried) == 0 {
		return "", rejected, fmt.Errorf("checkpoint %s: no step-NNNNNNNN directories to resume from", ckDir)
	}
	return "", rejected, fmt.Errorf("checkpoint %s: no checkpoint verifies: tried %s; each one's problem is listed above",
		ckDir, strings.Join(tried, ", "))
}
