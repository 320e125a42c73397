package checkpoint

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"
)

// FormatVersion is the manifest format Save writes: one model and one
// optimizer file. Load accepts it and ShardedVersion (CommitSharded).
const FormatVersion = 1

// Manifest is the manifest.json of a step directory.
type Manifest struct {
	FormatVersion int       `json:"format_version"`
	Step          int       `json:"step"`
	Created       time.Time `json:"created"`
	// Config is the run's resolved configuration as YAML.
	Config string `json:"config"`
	// Sampler is the data sampler's resumable state, as its owner encodes it.
	Sampler json.RawMessage `json:"sampler,omitempty"`
	// RNG holds named random generator states (e.g. MarshalBinary output).
	RNG     map[string][]byte `json:"rng,omitempty"`
	Metrics Metrics           `json:"metrics,omitempty"`
	// Files maps each data file of the step directory to its size and SHA-256.
	Files map[string]FileSum `json:"files"`
	// Layout and Tensors describe a sharded checkpoint (ShardedVersion):
	// the layout it was written at and every tensor's global shape and
	// pieces. Both are absent from a version-1 manifest.
	Layout  *Layout                 `json:"layout,omitempty"`
	Tensors map[string]TensorLayout `json:"tensors,omitempty"`
}

// Metrics maps metric names to values. In JSON, finite values are numbers
// and NaN and infinities are the strings "NaN", "+Inf" and "-Inf", so a
// diverged run can still be checkpointed.
type Metrics map[string]float64

// MarshalJSON implements json.Marshaler.
func (m Metrics) MarshalJSON() ([]byte, error) {
	wire := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case math.IsNaN(v):
			wire[k] = "NaN"
		case math.IsInf(v, 1):
			wire[k] = "+Inf"
		case math.IsInf(v, -1):
			wire[k] = "-Inf"
		default:
			wire[k] = v
		}
	}
	return json.Marshal(wire)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	out := make(Metrics, len(wire))
	for k, raw := range wire {
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return fmt.Errorf("metric %q: %w", k, err)
			}
			if v, err = strconv.ParseFloat(s, 64); err != nil || !(math.IsNaN(v) || math.IsInf(v, 0)) {
				return fmt.Errorf("metric %q: %q is neither a number nor NaN/+Inf/-Inf", k, s)
			}
		}
		out[k] = v
	}
	*m = out
	return nil
}

// MaxManifestBytes bounds a manifest.json: it lists every file and every
// tensor piece, a few hundred bytes each, so a larger file is not one.
const MaxManifestBytes = 256 << 20

// ReadManifest reads and checks the manifest.json of a step directory
// without touching the tensor files.
func ReadManifest(stepDir string) (*Manifest, error) {
	path := filepath.Join(stepDir, ManifestFile)
	b, err := readBounded(path, MaxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("checkpoint manifest %s: %w", path, err)
	}
	if m.FormatVersion < 1 || m.FormatVersion > ShardedVersion {
		return nil, fmt.Errorf("checkpoint manifest %s: format version %d, this build reads 1 to %d",
			path, m.FormatVersion, ShardedVersion)
	}
	if sharded := m.FormatVersion == ShardedVersion; sharded != (m.Tensors != nil) || sharded != (m.Layout != nil) {
		return nil, fmt.Errorf("checkpoint manifest %s: format version %d with%s a tensor layout; the manifest is damaged: use another checkpoint",
			path, m.FormatVersion, map[bool]string{true: "", false: "out"}[m.Tensors != nil])
	}
	if _, ok := m.Files[ModelFile]; !ok && m.Tensors == nil {
		return nil, fmt.Errorf("checkpoint manifest %s: no entry for %s", path, ModelFile)
	}
	for name := range m.Files {
		if name == "" || name != filepath.Base(name) || name == "." || name == ".." || name == ManifestFile {
			shown := name
			if len(shown) > 64 {
				shown = shown[:64] + "..."
			}
			return nil, fmt.Errorf("checkpoint manifest %s: invalid file entry %q (entries name files of the step directory); the manifest is damaged: use another checkpoint", path, shown)
		}
		if fs := m.Files[name]; fs.Size < 0 {
			return nil, fmt.Errorf("checkpoint manifest %s: file %s has size %d; the manifest is damaged: use another checkpoint", path, name, fs.Size)
		}
	}
	if m.Tensors != nil {
		if l := m.Layout; l.WorldSize < 1 || l.ExpertParallel < 1 || l.WorldSize%l.ExpertParallel != 0 {
			return nil, fmt.Errorf("checkpoint manifest %s: layout of %d ranks in expert-parallel groups of %d; the manifest is damaged: use another checkpoint", path, l.WorldSize, l.ExpertParallel)
		}
		if err := checkTensors(path, m.Tensors, m.Files); err != nil {
			return nil, err
		}
	}
	if step, ok := ParseStepDirName(filepath.Base(filepath.Clean(stepDir))); ok && step != m.Step {
		return nil, fmt.Errorf("checkpoint manifest %s: step %d does not match the directory name", path, m.Step)
	}
	return &m, nil
}
