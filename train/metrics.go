package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Record is one line of RUN_DIR/metrics.jsonl: the figures of one logged step.
type Record struct {
	Step       int     `json:"step"`
	Loss       float64 `json:"loss"`     // total objective (LM + aux + z)
	LMLoss     float64 `json:"lm_loss"`  // next-token cross-entropy
	AuxLoss    float64 `json:"aux_loss"` // load-balancing loss, coefficient applied, summed over MoE layers
	ZLoss      float64 `json:"z_loss"`   // router z-loss, coefficient applied, summed over MoE layers
	LR         float64 `json:"lr"`
	GradNorm   float64 `json:"grad_norm"` // global L2 norm before clipping
	TokensPerS float64 `json:"tokens_per_s"`
	Tokens     int64   `json:"tokens"` // tokens trained on so far
	ElapsedS   float64 `json:"elapsed_s"`
	// ExpertLoad[l][e] is the fraction of layer MoELayers[l]'s kept slots that
	// went to expert e in this step (1/E each when perfectly balanced).
	ExpertLoad [][]float64 `json:"expert_load,omitempty"`
	MoELayers  []int       `json:"moe_layers,omitempty"`
	MaxLoad    float64     `json:"max_load,omitempty"` // max over layers of max_e load / mean load
	Dropped    int         `json:"dropped,omitempty"`  // slots dropped by capacity
	Entropy    float64     `json:"router_entropy,omitempty"`
	Skipped    int         `json:"skipped_steps,omitempty"` // non-finite steps skipped so far
	// Ranks is the number of ranks of a multi-rank run (tokens_per_s counts
	// them all; per rank it is tokens_per_s / ranks), and CommShare the part
	// of rank 0's wall time spent in collectives: the gradient sums, the
	// step's figures and the expert-parallel token exchanges.
	Ranks     int      `json:"ranks,omitempty"`
	CommShare float64  `json:"comm_share,omitempty"`
	ValLoss   *float64 `json:"val_loss,omitempty"`
	ValPPL    *float64 `json:"val_ppl,omitempty"`
}

// MetricsLog appends records to RUN_DIR/metrics.jsonl, one JSON object per
// line, flushed after every record so a crash loses at most the line in flight.
type MetricsLog struct {
	f *os.File
	w *bufio.Writer
}

// OpenMetrics opens RUN_DIR/metrics.jsonl for appending. When resuming from
// step, lines of later steps (written after that checkpoint by the run that
// was interrupted) are dropped first, so the log reads as one run.
func OpenMetrics(runDir string, resumeStep int) (*MetricsLog, error) {
	return OpenMetricsLog(runDir, resumeStep, io.Discard)
}

// OpenMetricsLog is OpenMetrics saying on log what it repairs: a torn last
// line (a write cut short by a full disk or a crash) is dropped on resume.
func OpenMetricsLog(runDir string, resumeStep int, log io.Writer) (*MetricsLog, error) {
	path := filepath.Join(runDir, "metrics.jsonl")
	if resumeStep >= 0 {
		if err := truncateAfter(path, resumeStep, log); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &MetricsLog{f: f, w: bufio.NewWriter(f)}, nil
}

// Write appends one record.
func (m *MetricsLog) Write(r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	b = append(b, '\n')
	m.w.Write(b)
	if err := m.w.Flush(); err != nil {
		return fmt.Errorf("metrics %s: %w", m.f.Name(), err)
	}
	return nil
}

// Close flushes and closes the file.
func (m *MetricsLog) Close() error {
	if err := m.w.Flush(); err != nil {
		return err
	}
	if m.f == nil { // a rank that writes no metrics
		return nil
	}
	return m.f.Close()
}

// ReadMetrics reads every record of a metrics.jsonl file; a line that is
// not a record, the last one included, is an error naming the file and line.
func ReadMetrics(path string) ([]Record, error) {
	recs, torn, err := ReadMetricsTorn(path)
	if err != nil {
		return nil, err
	}
	if torn != nil {
		return nil, torn
	}
	return recs, nil
}

// TornLineError reports a last line of a metrics log that is not a complete
// record: a write cut short (a full disk, a crash) or a record still being
// written by a run in progress.
type TornLineError struct {
	Path string
	Line int // 1-based
	Err  error
}

func (e *TornLineError) Error() string {
	return fmt.Sprintf("metrics %s:%d: the last line is not a complete record (%v): a write cut short", e.Path, e.Line, e.Err)
}

func (e *TornLineError) Unwrap() error { return e.Err }

// ReadMetricsTorn reads the records of a metrics.jsonl file like
// ReadMetrics, except that a last line that does not parse and lacks its
// newline (a write that never finished: each record is written with its
// newline in one call) is left out and reported as torn (nil when the file
// ends cleanly). Any other bad line is an error.
func ReadMetricsTorn(path string) (recs []Record, torn *TornLineError, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	lines := bytes.Split(b, []byte("\n"))
	last := len(lines) - 1 // the last non-blank line
	for last >= 0 && len(bytes.TrimSpace(lines[last])) == 0 {
		last--
	}
	for i, line := range lines[:last+1] {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			if i == last && i == len(lines)-1 { // no newline after it: the write never finished
				return recs, &TornLineError{Path: path, Line: i + 1, Err: err}, nil
			}
			return nil, nil, fmt.Errorf("metrics %s:%d: %w", path, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs, nil, nil
}

// truncateAfter rewrites path keeping only records with step <= step, and
// drops a torn last line, saying so on log.
func truncateAfter(path string, step int, log io.Writer) error {
	if !fileExists(path) {
		return nil
	}
	recs, torn, err := ReadMetricsTorn(path)
	if err != nil {
		return fmt.Errorf("%w: a damaged line; delete it, or move the file aside to start a fresh log (the checkpoint is not affected)", err)
	}
	if torn != nil {
		fmt.Fprintf(log, "%v; dropped it (the checkpoint has the step's state)\n", torn)
	}
	var buf bytes.Buffer
	for i := range recs {
		if recs[i].Step > step {
			continue
		}
		b, _ := json.Marshal(&recs[i])
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return writeFileAtomic(path, buf.Bytes())
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFileAtomic writes data to a temp file beside path, fsyncs and renames it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
