package train

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/layers"
)

// rngKey names the training generator's state in checkpoints.
const rngKey = "train"

// optStepBaseKey names, in a checkpoint's metrics, the optimizer step count
// the run started from (Options.OptimizerState), which the schedule skips.
const optStepBaseKey = "optimizer_step_base"

// restore loads RUN_DIR's latest checkpoint (Options.ResumeFrom when set)
// into the trainer.
func (t *Trainer) restore() error {
	dir, err := t.opts.ResumeFrom, error(nil)
	if dir == "" {
		dir, err = checkpoint.Resolve(t.opts.RunDir)
	}
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	t.sliceExperts(ck.Model)
	t.sliceExperts(ck.Optimizer)
	if err := SetModelTensors(t.model, ck.Model, filepath.Join(dir, checkpoint.ModelFile)); err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	if err := checkpoint.CheckFinite(ck.Optimizer, filepath.Join(dir, checkpoint.OptimizerFile), "optimizer state",
		"loading it would poison the weights: resume from an earlier checkpoint (its step directory) instead"); err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	if err := t.opt.LoadState(ck.Optimizer); err != nil {
		return fmt.Errorf("--resume: %s: %w", filepath.Join(dir, checkpoint.OptimizerFile), err)
	}
	if err := t.batches.Restore(ck.Sampler); err != nil {
		return fmt.Errorf("checkpoint %s: sampler: %w", dir, err)
	}
	st, ok := ck.RNG[rngKey]
	if !ok {
		return fmt.Errorf("--resume: checkpoint %s: the manifest has no rng %q state, so the run could not continue as it would have; the checkpoint is damaged or was not written by training: resume from an earlier checkpoint, or start a fresh run from it (--init-from / finetune --from)", dir, rngKey)
	}
	if err := t.pcg.UnmarshalBinary(st); err != nil {
		return fmt.Errorf("checkpoint %s: rng: %w", dir, err)
	}
	for _, key := range []string{"tokens", "skipped_steps"} {
		v, ok := ck.Metrics[key]
		if !ok {
			return fmt.Errorf("--resume: checkpoint %s: the manifest's metrics lack %q; the checkpoint is damaged or was not written by training: resume from an earlier checkpoint", dir, key)
		}
		if !(v >= 0) || v > 1<<53 || v != math.Trunc(v) {
			return fmt.Errorf("--resume: checkpoint %s: the manifest's metrics %q = %v is not a count; the checkpoint is damaged: resume from an earlier checkpoint", dir, key, v)
		}
	}
	t.step, t.lastSaved, t.lastSavedDir = ck.Step, ck.Step, dir
	t.tokens = int64(ck.Metrics["tokens"])
	t.skipped = int(ck.Metrics["skipped_steps"])
	t.optStepBase = int(ck.Metrics[optStepBaseKey]) // absent (0) in runs that started with a fresh optimizer
	if t.optStepBase < 0 || t.optStepBase > t.opt.Steps() {
		return fmt.Errorf("checkpoint %s: metrics %s = %d is outside [0, the optimizer's %d steps]; the checkpoint is corrupt", dir, optStepBaseKey, t.optStepBase, t.opt.Steps())
	}
	return nil
}

// openMetrics opens the run's metrics log; the ranks other than 0 of a
// multi-rank run write none (theirs discards every record).
func (t *Trainer) openMetrics() (*MetricsLog, error) {
	if t.rank() != 0 {
		return &MetricsLog{w: bufio.NewWriter(io.Discard)}, nil
	}
	return OpenMetricsLog(t.opts.RunDir, t.resumeStep(), t.opts.Log)
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

// LoadModelTensors copies named tensors (a checkpoint's model file, an
// adapter file) into m's parameters and router expert biases and returns the
// names of the parameters ts lacks, sorted. Strict (the zero options), every
// parameter must be in ts; with opt.Partial a subset loads and the rest keep
// their values. Either way a name the model lacks or a shape that differs is
// an error naming the tensor and file, and nothing is copied unless all of ts
// fits. Expert biases are optional (absent: the bias is kept) and ignored on
// routers without expert_bias.
func LoadModelTensors(m *layers.Model, ts map[string]*autograd.Tensor, file string, opt checkpoint.AssignOptions) ([]string, error) {
	params := make(map[string]*autograd.Tensor, len(m.Params()))
	for _, p := range m.Params() {
		params[p.Name] = p
	}
	for _, a := range m.Adapters() { // a LoRA model's checkpoint holds its adapters beside the base weights
		params[a.Name] = a
	}
	layerOf := make(map[string]int, len(m.Blocks))
	for i := range m.Blocks {
		layerOf[expertBiasName(i)] = i
	}
	weights := make(map[string]*autograd.Tensor, len(ts))
	biases := map[int]*autograd.Tensor{}
	for name, t := range ts {
		i, isBias := layerOf[name]
		switch {
		case !isBias:
			weights[name] = t
		case m.Blocks[i].MoE != nil && m.Blocks[i].MoE.Router.Config().ExpertBias:
			if e := m.Blocks[i].MoE.Router.Config().NumExperts; t == nil || t.Len() != e {
				return nil, fmt.Errorf("%s: tensor %q does not hold %d experts' biases; the file is of another architecture", file, name, e)
			}
			biases[i] = t
		}
	}
	missing, err := checkpoint.Assign(params, weights, file, opt)
	if err != nil {
		return nil, err
	}
	for i, t := range biases {
		b := make([]float32, t.Len())
		for j := range b {
			b[j] = float32(t.At(j))
		}
		if err := m.Blocks[i].MoE.Router.SetBias(b); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, expertBiasName(i), err)
		}
	}
	return missing, nil
}
