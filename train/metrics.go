package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
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
	ValLoss    *float64    `json:"val_loss,omitempty"`
	ValPPL     *float64    `json:"val_ppl,omitempty"`
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
	path := filepath.Join(runDir, "metrics.jsonl")
	if resumeStep >= 0 {
		if err := truncateAfter(path, resumeStep); err != nil {
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
	m.w.Write(b)
	m.w.WriteByte('\n')
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
	return m.f.Close()
}

// ReadMetrics reads every record of a metrics.jsonl file.
func ReadMetrics(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var out []Record
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("metrics %s:%d: %w", path, i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// truncateAfter rewrites path keeping only records with step <= step.
func truncateAfter(path string, step int) error {
	if !fileExists(path) {
		return nil
	}
	recs, err := ReadMetrics(path)
	if err != nil {
		return err
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
