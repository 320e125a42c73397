package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/checkpoint"
)

// rngKey names the training generator's state in checkpoints.
const rngKey = "train"

// save writes a complete checkpoint of the current step and prunes old ones.
func (t *Trainer) save() (string, error) {
	cfgYAML, err := t.cfg.YAML()
	if err != nil {
		return "", err
	}
	sampler, err := t.batches.State()
	if err != nil {
		return "", fmt.Errorf("sampler state: %w", err)
	}
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return "", err
	}
	ck := &checkpoint.Checkpoint{
		Model:     ModelTensors(t.model),
		Optimizer: t.opt.State(),
		Config:    string(cfgYAML),
		Sampler:   json.RawMessage(sampler),
		RNG:       map[string][]byte{rngKey: rngState},
		Metrics:   checkpoint.Metrics{"tokens": float64(t.tokens), "skipped_steps": float64(t.skipped)},
	}
	dir, err := checkpoint.Save(t.opts.RunDir, t.step, ck)
	if err != nil {
		return "", fmt.Errorf("saving checkpoint at step %d: %w", t.step, err)
	}
	t.lastSaved, t.lastSavedDir = t.step, dir
	if _, err := checkpoint.Prune(t.opts.RunDir, t.cfg.Train.KeepLast); err != nil {
		return "", err
	}
	return dir, nil
}

// restore loads RUN_DIR's latest checkpoint into the trainer.
func (t *Trainer) restore() error {
	dir, err := checkpoint.Resolve(t.opts.RunDir)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	if err := SetModelTensors(t.model, ck.Model, dir); err != nil {
		return err
	}
	if err := t.opt.LoadState(ck.Optimizer); err != nil {
		return fmt.Errorf("checkpoint %s: optimizer: %w", dir, err)
	}
	if err := t.batches.Restore(ck.Sampler); err != nil {
		return fmt.Errorf("checkpoint %s: sampler: %w", dir, err)
	}
	if st, ok := ck.RNG[rngKey]; ok {
		if err := t.pcg.UnmarshalBinary(st); err != nil {
			return fmt.Errorf("checkpoint %s: rng: %w", dir, err)
		}
	}
	t.step, t.lastSaved, t.lastSavedDir = ck.Step, ck.Step, dir
	t.tokens = int64(ck.Metrics["tokens"])
	t.skipped = int(ck.Metrics["skipped_steps"])
	return nil
}

// resumeStep is the step metrics.jsonl is cut back to: the restored step when
// resuming, and -1 (keep everything) otherwise... except a fresh run, which
// starts a fresh log.
func (t *Trainer) resumeStep() int {
	if t.opts.Resume {
		return t.step
	}
	os.Remove(filepath.Join(t.opts.RunDir, "metrics.jsonl"))
	return -1
}
