package plot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/train"
)

// MetricsFile is the name of the metrics log inside a run directory.
const MetricsFile = "metrics.jsonl"

// ErrNoMetrics reports that a run directory has no usable metrics: the file
// is missing or holds no records.
var ErrNoMetrics = errors.New("no training metrics")

// LoadMetrics reads RUN_DIR/metrics.jsonl. A missing or empty file gives an
// error wrapping ErrNoMetrics, a line that is not a JSON record an error
// naming the file and line; both say what to do about it.
func LoadMetrics(runDir string) ([]train.Record, error) {
	recs, err := readMetrics(runDir)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	return recs, nil
}

// loadMetricsTorn is LoadMetrics leaving out a torn last line (a record
// being written by a run in progress, or cut short by a full disk), which a
// note then reports.
func loadMetricsTorn(runDir string) ([]train.Record, []string, error) {
	recs, err := LoadMetrics(runDir)
	var torn *train.TornLineError
	if !errors.As(err, &torn) {
		return recs, nil, err
	}
	recs, _, err = train.ReadMetricsTorn(torn.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("plot: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("plot: %w: %s has no complete record; run pretrain until it logs a step (every train.log_every steps)", ErrNoMetrics, torn.Path)
	}
	note := fmt.Sprintf("%s:%d, the last line, is not a complete record (a run still writing it, or a write cut short); drew the %d records before it", torn.Path, torn.Line, len(recs))
	return recs, []string{note}, nil
}

// readMetrics is LoadMetrics without the package's prefix on its errors, for
// callers that wrap them in their own context.
func readMetrics(runDir string) ([]train.Record, error) {
	path := filepath.Join(runDir, MetricsFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist; train first (moetrain pretrain --out %s) or pass the run directory that holds it",
				ErrNoMetrics, path, runDir)
		}
		return nil, err
	}
	recs, err := train.ReadMetrics(path)
	if err != nil {
		return nil, fmt.Errorf("corrupt metrics log: %w; delete the bad line or re-run pretrain into a fresh run directory", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: %s has no records; run pretrain until it logs a step (every train.log_every steps)",
			ErrNoMetrics, path)
	}
	return recs, nil
}
