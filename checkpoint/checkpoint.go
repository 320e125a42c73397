package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// Checkpoint is everything needed to resume a run at a step.
type Checkpoint struct {
	// Step is the step Load read; Save records its step argument instead.
	Step int
	// Model holds the parameters by their dotted names.
	Model map[string]*autograd.Tensor
	// Optimizer holds the optimizer state by name, e.g. "exp_avg.<param>".
	Optimizer map[string]*autograd.Tensor
	// Config is the run's resolved configuration as YAML.
	Config string
	// Sampler is the data sampler's resumable state: empty or valid JSON,
	// which Load returns compacted (the same value, not the same bytes).
	Sampler json.RawMessage
	// RNG holds named random generator states.
	RNG map[string][]byte
	// Metrics are recorded for inspection (loss, tokens seen, ...).
	Metrics Metrics
	// Created is when the checkpoint was written; Save uses the current
	// time when it is zero.
	Created time.Time
	// Blobs are further files of the step directory, by name (a plain file
	// name other than the model, optimizer and manifest files), written,
	// fsynced and listed with their SHA-256 in the manifest like the tensor
	// files: the run's tokenizer.json, say. Load verifies them but does not
	// read them into memory; ReadBlob does.
	Blobs map[string][]byte
	// Layout is the parallel layout a sharded checkpoint was written at
	// (Load sets it; nil for a checkpoint of one file per group).
	Layout *Layout
	// Extras, when set, writes further files into the step directory (a
	// LoRA adapter in PEFT's layout under adapter/, say). Save calls it with
	// the temporary directory, so what it writes appears with the rest of
	// the checkpoint or not at all; Load does not read it and the manifest
	// does not list it.
	Extras func(dir string) error
}

// Save writes ck as step under runDir/checkpoints and points latest at it,
// returning the step directory. It first removes debris of interrupted
// saves, writes every file into a temporary directory, fsyncs the files and
// the directory, renames it to step-XXXXXXXX (replacing an existing
// directory of that step), and finally replaces latest atomically. A crash
// at any point leaves latest naming a complete checkpoint.
func Save(runDir string, step int, ck *Checkpoint) (string, error) {
	if ck == nil {
		return "", fmt.Errorf("checkpoint save in %s: nil checkpoint", runDir)
	}
	if step < 0 {
		return "", fmt.Errorf("checkpoint save in %s: negative step %d", runDir, step)
	}
	ckDir := filepath.Join(runDir, CheckpointsDir)
	name := StepDirName(step)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("checkpoint save %s: %w", filepath.Join(ckDir, name), err)
	}
	if err := os.MkdirAll(ckDir, 0o755); err != nil {
		return fail(err)
	}
	if err := removeStale(ckDir); err != nil {
		return fail(err)
	}
	tmp, err := os.MkdirTemp(ckDir, tempPrefix+name+"-")
	if err != nil {
		return fail(err)
	}
	if err := fillStepDir(tmp, step, ck); err != nil {
		os.RemoveAll(tmp)
		return fail(err)
	}
	final := filepath.Join(ckDir, name)
	if err := replaceDir(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return fail(err)
	}
	if err := syncDir(ckDir); err != nil {
		return fail(err)
	}
	if err := writeLatest(ckDir, name); err != nil {
		return fail(err)
	}
	return final, nil
}

// fillStepDir writes the model, optimizer and manifest files into dir and
// fsyncs them and dir.
func fillStepDir(dir string, step int, ck *Checkpoint) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	m := Manifest{
		FormatVersion: FormatVersion,
		Step:          step,
		Created:       ck.Created,
		Config:        ck.Config,
		Sampler:       ck.Sampler,
		RNG:           ck.RNG,
		Metrics:       ck.Metrics,
		Files:         map[string]FileSum{},
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	m.Created = m.Created.UTC()
	meta := map[string]string{"step": strconv.Itoa(step)}
	for _, f := range []struct {
		name    string
		tensors map[string]*autograd.Tensor
	}{{ModelFile, ck.Model}, {OptimizerFile, ck.Optimizer}} {
		es, err := tensorEntries(f.tensors)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		sum, err := writeSynced(filepath.Join(dir, f.name), func(w io.Writer) error { return encode(w, es, meta) })
		if err != nil {
			return err
		}
		m.Files[f.name] = sum
	}
	if err := fillExtras(dir, &m, ck); err != nil {
		return err
	}
	return writeManifest(dir, &m)
}

// fillExtras writes ck's blobs (listing them in m.Files) and extra files
// into dir.
func fillExtras(dir string, m *Manifest, ck *Checkpoint) error {
	for _, name := range sortedKeys(ck.Blobs) {
		if name == "" || name != filepath.Base(name) || name == ModelFile || name == OptimizerFile || name == ManifestFile ||
			ShardFileOf(name, GroupModel) || ShardFileOf(name, GroupOptimizer) {
			return fmt.Errorf("blob %q: want a plain file name other than %s, %s, %s and the shard files", name, ModelFile, OptimizerFile, ManifestFile)
		}
		b := ck.Blobs[name]
		sum, err := writeSynced(filepath.Join(dir, name), func(w io.Writer) error {
			_, err := w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		m.Files[name] = sum
	}
	if ck.Extras != nil {
		if err := ck.Extras(dir); err != nil {
			return fmt.Errorf("extra files: %w", err)
		}
	}
	return nil
}

// writeManifest writes m as dir's manifest, the last file of a step
// directory, and fsyncs dir.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	b = append(b, '\n')
	if _, err := writeSynced(filepath.Join(dir, ManifestFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return err
	}
	return syncDir(dir)
}

// Load reads the checkpoint in stepDir (a directory Resolve returns),
// verifying the size and SHA-256 of every file the manifest lists; a file
// that does not match is an error naming it.
func Load(stepDir string) (*Checkpoint, error) {
	m, err := ReadManifest(stepDir)
	if err != nil {
		return nil, err
	}
	if m.Tensors != nil {
		return loadSharded(stepDir, m, true)
	}
	ck := fromManifest(m)
	if _, ok := m.Files[OptimizerFile]; ok {
		ck.Optimizer = map[string]*autograd.Tensor{}
	}
	for _, name := range sortedKeys(m.Files) {
		var consume sink
		switch name {
		case ModelFile:
			consume = floatSink(ck.Model)
		case OptimizerFile:
			consume = floatSink(ck.Optimizer)
		}
		if err := verifyFile(filepath.Join(stepDir, name), m.Files[name], consume); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", stepDir, err)
		}
	}
	return ck, nil
}

// LoadModelOnly reads the checkpoint in stepDir as Load does but decodes and
// verifies only its model file (size and SHA-256 against the manifest), for
// commands that never use the optimizer state: the returned Optimizer is nil
// and optimizer.safetensors is not opened.
func LoadModelOnly(stepDir string) (*Checkpoint, error) {
	m, err := ReadManifest(stepDir)
	if err != nil {
		return nil, err
	}
	if m.Tensors != nil {
		return loadSharded(stepDir, m, false)
	}
	ck := fromManifest(m)
	if err := verifyFile(filepath.Join(stepDir, ModelFile), m.Files[ModelFile], floatSink(ck.Model)); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", stepDir, err)
	}
	return ck, nil
}

// Verify checks every file of the checkpoint in stepDir against its
// manifest without decoding tensors.
func Verify(stepDir string) error {
	m, err := ReadManifest(stepDir)
	if err != nil {
		return err
	}
	if m.Tensors != nil {
		_, err := readSharded(stepDir, m, true, false)
		return err
	}
	for _, name := range sortedKeys(m.Files) {
		if err := verifyFile(filepath.Join(stepDir, name), m.Files[name], nil); err != nil {
			return fmt.Errorf("checkpoint %s: %w", stepDir, err)
		}
	}
	return nil
}

// verifyFile checks path's size and SHA-256 against want while, if consume
// is not nil, decoding it as safetensors in the same pass.
func verifyFile(path string, want FileSum, consume sink) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != want.Size {
		return fmt.Errorf("%s is corrupt: %d bytes, manifest says %d", path, st.Size(), want.Size)
	}
	h := sha256.New()
	r := io.TeeReader(bufio.NewReaderSize(f, 1<<20), h)
	var decErr error
	if consume != nil {
		_, decErr = decode(r, st.Size(), consume)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if got := hexSum(h); got != want.SHA256 {
		return fmt.Errorf("%s is corrupt: sha256 %s, manifest says %s", path, got, want.SHA256)
	}
	if decErr != nil {
		return fmt.Errorf("safetensors %s: %w", path, decErr)
	}
	return nil
}

// compactJSON returns raw without insignificant whitespace (raw is valid
// JSON: it was decoded from the manifest).
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// hexSum returns h's digest in lowercase hex.
func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MaxBlobBytes bounds what ReadBlob reads.
const MaxBlobBytes = 256 << 20

// ReadBlob returns the contents of the blob name of the checkpoint in
// stepDir, verified against the manifest's size and SHA-256, and whether the
// manifest lists it (false, nil error: it does not).
func ReadBlob(stepDir, name string) ([]byte, bool, error) {
	m, err := ReadManifest(stepDir)
	if err != nil {
		return nil, false, err
	}
	want, ok := m.Files[name]
	if !ok || name == ModelFile || name == OptimizerFile {
		return nil, false, nil
	}
	if want.Size > MaxBlobBytes {
		return nil, true, fmt.Errorf("checkpoint %s: %s claims %d bytes, more than the %d a blob may hold; the manifest is damaged", stepDir, name, want.Size, MaxBlobBytes)
	}
	path := filepath.Join(stepDir, name)
	if st, err := os.Stat(path); err != nil {
		return nil, true, fmt.Errorf("checkpoint %s: %w", stepDir, err)
	} else if !st.Mode().IsRegular() || st.Size() != want.Size {
		return nil, true, fmt.Errorf("checkpoint %s: %s is corrupt: %d bytes, manifest says %d", stepDir, name, st.Size(), want.Size)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, true, fmt.Errorf("checkpoint %s: %w", stepDir, err)
	}
	h := sha256.Sum256(b)
	if int64(len(b)) != want.Size || hex.EncodeToString(h[:]) != want.SHA256 {
		return nil, true, fmt.Errorf("checkpoint %s: %s is corrupt: its size or SHA-256 differs from the manifest's", stepDir, name)
	}
	return b, true, nil
}

// fromManifest returns the checkpoint a manifest describes, without its
// tensors: an empty Model map for the loader to fill.
func fromManifest(m *Manifest) *Checkpoint {
	return &Checkpoint{
		Step:    m.Step,
		Config:  m.Config,
		Sampler: compactJSON(m.Sampler),
		RNG:     m.RNG,
		Metrics: m.Metrics,
		Created: m.Created,
		Model:   map[string]*autograd.Tensor{},
		Layout:  m.Layout,
	}
}
