package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// IsHFDir reports whether path is a directory holding a HuggingFace config.json
// (a Llama or Mixtral model, as export writes and import reads).
func IsHFDir(path string) bool {
	st, err := os.Stat(filepath.Join(path, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// OpenModel reads a model to start from: a moetrain checkpoint (any form
// checkpoint.Resolve accepts: run dir, checkpoints dir, step dir) or a
// HuggingFace Llama/Mixtral directory (config.json and safetensors), read in
// memory as import would read it. The checkpoint is nil for an HF directory.
// Everything is checked before the model is returned; nothing is written.
func OpenModel(path string) (*configs.Config, *layers.Model, *checkpoint.Checkpoint, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("%s: no such checkpoint or HuggingFace directory", path)
	}
	if !IsHFDir(path) {
		return loadModel(path, checkpoint.Load) // upcycling carries the AdamW moments
	}
	cfg, tensors, err := checkpoint.ImportHF(path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := NewModel(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := SetModelTensors(m, tensors, path); err != nil {
		return nil, nil, nil, err
	}
	return cfg, m, nil, nil
}

// CheckpointConfig returns the YAML configuration saved with the latest
// checkpoint of runDir (or with the step dir it names), reading only the
// manifest.
func CheckpointConfig(ckptArg string) (yaml []byte, stepDir string, err error) {
	dir, err := checkpoint.Resolve(ckptArg)
	if err != nil {
		return nil, "", err
	}
	m, err := checkpoint.ReadManifest(dir)
	if err != nil {
		return nil, "", err
	}
	return []byte(m.Config), dir, nil
}
