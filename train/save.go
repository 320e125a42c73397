package train

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

// A checkpoint is written sharded at any number of ranks (one is a
// checkpoint of one shard): every rank writes the element ranges it owns of
// the model and of the AdamW state (ownedPieces), and rank 0 commits the
// manifest once every rank's part is on disk. With train.async_save the
// owned ranges are copied and written by a goroutine while training goes
// on; the next save, the end of the run and a stop wait for it first.

// pendingSave is an asynchronous save in flight.
type pendingSave struct {
	step int
	done chan error
}

// save writes a checkpoint of the current step, prunes old ones and
// returns its directory. final says the run ends after it: the save is then
// complete when save returns, asynchronous or not.
func (t *Trainer) save(final bool) (string, error) {
	if err := t.waitSave(); err != nil {
		return "", err
	}
	start := time.Now()
	ck, err := t.checkpointState()
	if err != nil {
		return "", fmt.Errorf("saving checkpoint at step %d: %w", t.step, err)
	}
	async := t.cfg.Train.AsyncSave && !final && t.opts.CheckpointExtras == nil // extras read live weights: written now
	shard := &checkpoint.Shard{Model: t.ownedPieces("model/", ModelTensors(t.model), async), Optimizer: t.ownedPieces("optimizer/", t.opt.State(), async)}
	var err0 error
	if t.rank() == 0 {
		err0 = checkpoint.BeginSharded(t.opts.RunDir, t.step)
	}
	if err := t.agreeSaved(err0); err != nil {
		return "", err
	}
	step, rank := t.step, t.rank()
	layout := checkpoint.Layout{WorldSize: t.worldSize(), ExpertParallel: 1}
	if t.par != nil {
		layout.ExpertParallel = t.par.EP.Size()
	}
	write := func() error {
		if err := checkpoint.WriteShard(t.opts.RunDir, step, rank, shard); err != nil {
			return err
		}
		if rank != 0 {
			return nil
		}
		if _, err := checkpoint.CommitSharded(t.opts.RunDir, step, ck, layout, Timeout(t.cfg)); err != nil {
			return err
		}
		_, err := checkpoint.Prune(t.opts.RunDir, t.cfg.Train.KeepLast)
		return err
	}
	dir := filepath.Join(t.opts.RunDir, checkpoint.CheckpointsDir, checkpoint.StepDirName(step))
	t.lastSaved, t.lastSavedDir = step, dir
	if async {
		p := &pendingSave{step: step, done: make(chan error, 1)}
		go func() { p.done <- write() }()
		t.pending = p
		t.saveBlocked = time.Since(start)
		return dir, nil
	}
	if err := t.agreeSaved(write()); err != nil {
		return "", fmt.Errorf("saving checkpoint at step %d: %w", step, err)
	}
	t.saveBlocked = time.Since(start)
	return dir, nil
}

// waitSave waits for the asynchronous save in flight, if any, and returns
// its error.
func (t *Trainer) waitSave() error {
	if t.pending == nil {
		return nil
	}
	p := t.pending
	t.pending = nil
	if err := <-p.done; err != nil {
		return fmt.Errorf("saving checkpoint at step %d (in the background): %w", p.step, err)
	}
	return nil
}

// checkpointState is everything of a checkpoint but its tensors: config,
// sampler position, generator state, counters and blobs.
func (t *Trainer) checkpointState() (*checkpoint.Checkpoint, error) {
	cfgYAML, err := t.cfg.YAML()
	if err != nil {
		return nil, err
	}
	sampler, err := t.batches.State()
	if err != nil {
		return nil, fmt.Errorf("sampler state: %w", err)
	}
	rngState, err := t.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &checkpoint.Checkpoint{
		Config:  string(cfgYAML),
		Sampler: json.RawMessage(sampler),
		RNG:     map[string][]byte{rngKey: rngState}, // the same on every rank (one stream, one seed)
		Metrics: checkpoint.Metrics{"tokens": float64(t.tokens), "skipped_steps": float64(t.skipped),
			optStepBaseKey: float64(t.optStepBase), "samples": float64(t.step * t.cfg.GlobalBatch())},
		Extras: t.opts.CheckpointExtras,
		Blobs:  t.blobs,
	}, nil
}

// ownedPieces returns the element ranges of ts (this rank's model tensors or
// optimizer state, by name) that this rank writes. A tensor every rank holds
// is split into W contiguous ranges, rank r writing the r-th; an expert
// shard, held by its DP group, is split over that group within the shard's
// range of the whole tensor. Each piece is a view of the live values, or a
// copy when snapshot is set (an asynchronous save), into buffers kept for the
// next save (the previous one is complete by then: waitSave), under key's
// prefix.
func (t *Trainer) ownedPieces(key string, ts map[string]*autograd.Tensor, snapshot bool) map[string]checkpoint.OwnedPiece {
	sharded := map[string]bool{}
	if t.expertParallel() {
		for _, name := range t.shardNames() {
			sharded[name] = true
		}
	}
	out := make(map[string]checkpoint.OwnedPiece, len(ts))
	for name, x := range ts {
		n, shape, base := x.Len(), x.Shape(), 0
		holders, idx := t.worldSize(), t.rank()
		if sharded[name] {
			ep := t.par.EP.Size()
			shape = append([]int{x.Dim(0) * ep}, x.Shape()[1:]...)
			base, holders, idx = t.par.EP.Rank()*n, t.par.DP.Size(), t.par.DP.Rank()
		}
		lo, hi := idx*n/holders, (idx+1)*n/holders
		if lo == hi {
			continue
		}
		data := view(x, lo, hi)
		if snapshot {
			data = t.snapshot(key+name, data)
		}
		out[name] = checkpoint.OwnedPiece{Shape: shape, Offset: base + lo, Data: data}
	}
	return out
}

// view returns x's flattened elements [lo, hi) as a 1-D tensor sharing them.
func view(x *autograd.Tensor, lo, hi int) *autograd.Tensor {
	if x.DType() == autograd.Float64 {
		return autograd.FromSlice(x.F64()[lo:hi], hi-lo)
	}
	return autograd.FromSlice(x.F32()[lo:hi], hi-lo)
}

// snapshot copies v into the buffer kept under key (made, or remade when
// its size changed), so that steady-state asynchronous saves allocate
// nothing.
func (t *Trainer) snapshot(key string, v *autograd.Tensor) *autograd.Tensor {
	if t.snapshots == nil {
		t.snapshots = map[string]*autograd.Tensor{}
	}
	buf := t.snapshots[key]
	if buf == nil || buf.Len() != v.Len() || buf.DType() != v.DType() {
		buf = autograd.New(v.DType(), v.Len())
		t.snapshots[key] = buf
	}
	if v.DType() == autograd.Float64 {
		copy(buf.F64(), v.F64())
	} else {
		copy(buf.F32(), v.F32())
	}
	return buf
}
