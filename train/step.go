package train

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
	"github.com/moetrain/moetrain/parallel"
)

// StepResult summarises one optimizer step over the micro-batches it ran.
type StepResult struct {
	// Loss is the step's objective, LMLoss + AuxLoss + ZLoss. LMLoss is the mean cross-entropy
	// over the step's trained tokens (each micro-batch's mean weighted by its share of them);
	// AuxLoss and ZLoss are the mean over the micro-batches that ran of their router losses.
	Loss, LMLoss, AuxLoss, ZLoss float64
	GradNorm                     float64
	LR                           float64
	// Tokens counts the step's trained tokens: the targets that are not IgnoreIndex in the
	// micro-batches that ran. Pretraining data trains every position (B*T per micro-batch);
	// fine-tuning data leaves out prompts, padding and document starts, so the tokens and
	// tokens/s of a fine-tuning run's log and metrics count trained tokens only.
	Tokens int
	// Skipped says the step was not applied: its loss or a gradient was non-finite (BadTensor
	// names what first), or none of its micro-batches had a trained target (Empty).
	Skipped   bool
	BadTensor string // what went non-finite first, when Skipped and not Empty
	// Empty says every micro-batch of the step had only IgnoreIndex targets: nothing ran, the
	// optimizer did not step (the learning-rate schedule did not advance) and Skipped is set.
	Empty bool
	// MicroBatches counts the micro-batches that ran forward and backward: those of the
	// train.grad_accum_steps drawn that had a trained target.
	MicroBatches int
	// Load[l][e] counts layer l's kept slots per expert over the micro-batches.
	Load    [][]int
	Dropped int
	Entropy float64 // mean router entropy over MoE layers and micro-batches (nats)
	// Wall time of the step's phases, summed over its micro-batches:
	// forward (with the loss), backward, and the optimizer (gradient norm,
	// AdamW, router bias updates).
	Forward, Backward, Optimizer time.Duration
	// Comm is the part of the step's time this rank spent in collectives:
	// the step's figures, the gradient sums and the expert-parallel token
	// exchanges (which run inside Forward and Backward). 0 in a one-rank run.
	Comm time.Duration
}

// microBatch is one micro-batch of a step, held until the step has run.
type microBatch struct {
	inputs, targets []int32 // [B*T]; nil for another rank's micro-batch
	trained         int     // targets that are not IgnoreIndex
}

// drawMicroBatches draws a step's n micro-batches (every rank draws all of them, in the same
// order, from the same sampler), counts their trained targets and keeps this rank's (all of them
// in a one-rank run). Batches.Next's slices are valid only until its next call, so every kept
// micro-batch but the last is copied.
func (t *Trainer) drawMicroBatches(n int) []microBatch {
	out := make([]microBatch, n)
	for i := range out {
		inputs, targets := t.batches.Next()
		out[i].trained = countTrained(targets)
		if !t.ownsMicroBatch(i) {
			continue
		}
		if i < n-1 {
			inputs, targets = slices.Clone(inputs), slices.Clone(targets)
		}
		out[i].inputs, out[i].targets = inputs, targets
	}
	return out
}

// countTrained counts the targets the loss counts: those that are not IgnoreIndex.
func countTrained(targets []int32) int {
	n := 0
	for _, y := range targets {
		if y != IgnoreIndex {
			n++
		}
	}
	return n
}

// runStep draws grad_accum_steps micro-batches, runs forward and backward on each that has a
// trained target, then clips and applies AdamW, unless the loss or a gradient is non-finite, in
// which case the gradients are dropped and the step is reported as skipped.
//
// The step's LM loss is the mean over all its trained tokens, not the mean of the micro-batch
// means: micro-batch i with n_i of the step's N trained targets weighs n_i/N, so a micro-batch
// with 3 trained tokens counts for 3 tokens beside one with 500. The router losses (load
// balancing, z) are per micro-batch and weigh 1/M over the M micro-batches that ran. Each
// micro-batch's backward seeds its total loss with 1/M and, where n_i/N differs from 1/M, its LM
// loss with the difference; on pretraining data every micro-batch has B*T trained targets, n_i/N
// is exactly 1/M = 1/grad_accum_steps and the step is computed as the plain average of the
// micro-batch losses, bit for bit. A micro-batch with no trained target is not run (no forward,
// no backward, no tokens). When no micro-batch of the step has one, the step is Empty: nothing
// is run or applied, and the trainer logs it and goes on to the next step, so the step counter
// advances while the optimizer and the learning-rate schedule do not.
func (t *Trainer) runStep() (*StepResult, error) {
	c := t.cfg.Train
	res := &StepResult{LR: t.sched.At(t.scheduleStep())}
	if err := t.accumulate(res, t.drawMicroBatches(t.cfg.AccumSteps()*t.worldSize())); err != nil {
		return nil, err
	}
	res.Comm += t.dispatchTime()
	if res.Empty {
		return res, nil
	}
	if err := t.reduceStep(res); err != nil {
		return nil, err
	}
	start := time.Now()
	defer func() { res.Optimizer = time.Since(start) }()
	if !res.Skipped {
		if err := t.syncGrads(res); err != nil {
			return nil, err
		}
		// The norm is non-finite exactly when some gradient is; only then
		// is the slower search for its name worth a pass.
		var err error
		if res.GradNorm, err = t.gradNorm(res); err != nil {
			return nil, err
		}
		if !finite(res.GradNorm) {
			res.Skipped, res.BadTensor = true, "gradient norm"
			if ok, bad := optim.GradsFiniteOn(t.tape.Engine(), t.params); !ok {
				res.BadTensor = "gradient of " + bad
			}
		}
	}
	if res.Skipped {
		optim.ZeroGrad(t.params)
		return res, nil
	}
	t.opt.SetLR(res.LR)
	t.opt.StepScaled(optim.ClipFactor(res.GradNorm, c.GradClip)) // clipping folded into the update
	optim.ZeroGrad(t.params)
	for l, layer := range t.moeLayers {
		t.model.Blocks[layer].MoE.Router.UpdateBias(res.Load[l])
	}
	return res, nil
}

// gradNorm returns the global L2 norm of the step's gradients: with the experts split over ranks,
// of the replicated gradients (equal on every rank) and every rank's expert shard's.
func (t *Trainer) gradNorm(res *StepResult) (float64, error) {
	eng := t.tape.Engine()
	if !t.expertParallel() {
		return optim.GradNormOn(eng, t.params), nil
	}
	rep, shard := optim.GradNormOn(eng, t.replicated), optim.GradNormOn(eng, t.expertShard)
	sq := t.scalar(float32(shard * shard))
	if err := t.timed(res, func() error { return t.par.EP.AllReduce(sq, parallel.Sum) }); err != nil {
		return 0, fmt.Errorf("summing the expert shards' gradient norms over the ranks: %w", err)
	}
	return math.Sqrt(rep*rep + float64(sq[0])), nil
}

// accumulate runs forward and backward on this rank's micro-batches of one step that have a
// trained target, with the weights runStep describes (from the counts of the whole step, every
// rank's micro-batches), leaving the step's gradient in the trainable
// parameters and its losses, tokens, routing figures and phase times in res. It stops at the
// first non-finite loss (res.Skipped, the tape reset) and sets res.Empty, running nothing, when
// no micro-batch has a trained target.
func (t *Trainer) accumulate(res *StepResult, micro []microBatch) error {
	c := t.cfg.Train
	total := 0
	for _, mb := range micro {
		total += mb.trained
		if mb.trained > 0 {
			res.MicroBatches++
		}
	}
	if res.MicroBatches == 0 {
		res.Skipped, res.Empty = true, true
		return nil
	}
	scale := 1 / float64(res.MicroBatches) // of each micro-batch's total loss: its router losses' weight
	nMoE := len(t.moeLayers)
	if nMoE > 0 {
		res.Load = make([][]int, nMoE) // every layer's row, even on a rank whose micro-batches all drop out: reduceStep sums them
		for l, layer := range t.moeLayers {
			res.Load[l] = make([]int, t.model.Blocks[layer].MoE.Router.Config().NumExperts)
		}
	}
	for _, mb := range micro {
		if mb.inputs == nil {
			continue // another rank's
		}
		if mb.trained == 0 {
			if t.expertParallel() {
				return fmt.Errorf("a micro-batch has no trained target; with the experts split over ranks (parallel.expert_parallel > 1) every rank must run every micro-batch: train on pretraining data or use parallel.expert_parallel=1")
			}
			continue
		}
		w := float64(mb.trained) / float64(total) // the LM loss's weight, n_i/N
		lmExtra := w - scale                      // what the LM loss weighs beyond the total loss's scale
		start := time.Now()
		out := t.model.Forward(t.tape, mb.inputs, c.MicroBatchSize, c.SeqLen, t.fwdOpts)
		loss := t.model.Loss(t.tape, out, mb.targets, t.lossCfg)
		res.Forward += time.Since(start)
		res.Loss += loss.Total.Item()*scale + loss.LM.Item()*lmExtra
		res.LMLoss += loss.LM.Item() * w
		if loss.Aux != nil {
			res.AuxLoss += loss.Aux.Item() * scale
		}
		if loss.Z != nil {
			res.ZLoss += loss.Z.Item() * scale
		}
		for l, rt := range out.Routings {
			st := rt.Stats()
			for e, n := range st.TokensPerExpert {
				res.Load[l][e] += n
			}
			res.Dropped += st.Dropped
			res.Entropy += st.Entropy / float64(nMoE*res.MicroBatches)
		}
		res.Tokens += mb.trained
		if !finite(loss.Total.Item()) {
			res.Skipped, res.BadTensor = true, nonFiniteSource(loss, out.Logits)
			if !t.expertParallel() {
				t.tape.Reset()
				break
			}
			// With the experts split over ranks the backward pass exchanges token copies with the
			// other ranks, which wait for it: run it; the step is dropped all the same.
		}
		start = time.Now()
		objective := t.tape.Scale(loss.Total, scale)
		if lmExtra != 0 {
			objective = t.tape.Add(objective, t.tape.Scale(loss.LM, lmExtra))
		}
		if err := t.tape.Backward(objective); err != nil {
			return err
		}
		t.tape.Reset()
		res.Backward += time.Since(start)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// nonFiniteSource names the first non-finite quantity of a bad forward pass.
func nonFiniteSource(loss *layers.Loss, logits *autograd.Tensor) string {
	for i := 0; i < logits.Len(); i++ {
		if !finite(logits.At(i)) {
			return fmt.Sprintf("logits (element %d = %v)", i, logits.At(i))
		}
	}
	for _, p := range []struct {
		name string
		t    *autograd.Tensor
	}{{"lm_loss", loss.LM}, {"aux_loss", loss.Aux}, {"z_loss", loss.Z}} {
		if p.t != nil && !finite(p.t.Item()) {
			return p.name
		}
	}
	return "loss"
}
