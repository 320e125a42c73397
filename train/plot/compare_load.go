package plot

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// LoadCompareRuns reads the metrics of each run directory (see LoadMetrics)
// for a comparison chart. labels, when not empty, name the runs in order,
// one each; otherwise a run is named by its directory's base name, or by
// the whole directory when two base names are the same. offsets, when not
// empty, give each run's token offset in order, one each: a count of tokens
// (a non-negative integer), or a run directory, whose last logged token
// count is the offset (the run this one continues).
func LoadCompareRuns(dirs, labels, offsets []string) ([]CompareRun, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("plot: no runs to compare: give one run directory or more")
	}
	if len(labels) > 0 && len(labels) != len(dirs) {
		return nil, fmt.Errorf("plot: %d labels (%s) for %d runs: give one label per run, in the order of the runs",
			len(labels), strings.Join(labels, ","), len(dirs))
	}
	if len(offsets) > 0 && len(offsets) != len(dirs) {
		return nil, fmt.Errorf("plot: %d token offsets (%s) for %d runs: give one per run, in the order of the runs (0 for a run that starts at 0)",
			len(offsets), strings.Join(offsets, ","), len(dirs))
	}
	if len(labels) == 0 {
		labels = defaultLabels(dirs)
	}
	runs := make([]CompareRun, len(dirs))
	for i, dir := range dirs {
		if strings.TrimSpace(labels[i]) == "" {
			return nil, fmt.Errorf("plot: label %d of %d (for %s) is empty: give every run a name", i+1, len(dirs), dir)
		}
		recs, err := LoadMetrics(dir)
		if err != nil {
			return nil, err
		}
		runs[i] = CompareRun{Label: labels[i], Dir: dir, Records: recs}
		if len(offsets) > 0 {
			if runs[i].Offset, err = resolveOffset(offsets[i]); err != nil {
				return nil, fmt.Errorf("plot: token offset of run %s: %w", runName(runs[i]), err)
			}
		}
	}
	return runs, nil
}

// defaultLabels names runs by their directories' base names, or by the
// cleaned directories when two base names are the same.
func defaultLabels(dirs []string) []string {
	labels := make([]string, len(dirs))
	seen := map[string]int{}
	for i, d := range dirs {
		labels[i] = filepath.Base(filepath.Clean(d))
		seen[labels[i]]++
	}
	for i, d := range dirs {
		if seen[labels[i]] > 1 {
			labels[i] = filepath.Clean(d)
		}
	}
	return labels
}

// ParseTokens reads a position on a comparison chart's token axis: a
// non-negative integer, or a run directory, whose largest logged token count
// it returns (where that run ended).
func ParseTokens(spec string) (int64, error) {
	n, err := resolveOffset(spec)
	if err != nil {
		return 0, fmt.Errorf("plot: %w", err)
	}
	return n, nil
}

// resolveOffset reads one token offset: a non-negative integer, or a run
// directory whose largest logged token count it returns.
func resolveOffset(spec string) (int64, error) {
	spec = strings.TrimSpace(spec)
	if n, err := strconv.ParseInt(spec, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%d is negative: give 0 or more tokens, or the run directory it continues", n)
		}
		return n, nil
	}
	recs, err := readMetrics(spec)
	if err != nil {
		return 0, fmt.Errorf("%q is not a token count, and as a run directory: %w", spec, err)
	}
	var most int64
	for i := range recs {
		most = max(most, recs[i].Tokens)
	}
	return most, nil
}
