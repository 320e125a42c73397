package train

import (
	"fmt"
	"math"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/optim"
)

// StepResult summarises one optimizer step (averaged over its micro-batches).
type StepResult struct {
	Loss, LMLoss, AuxLoss, ZLoss float64
	GradNorm                     float64
	LR                           float64
	Tokens                       int
	Skipped                      bool   // the step had a non-finite loss or gradient and was not applied
	BadTensor                    string // what went non-finite first, when Skipped
	// Load[l][e] counts layer l's kept slots per expert over the micro-batches.
	Load    [][]int
	Dropped int
	Entropy float64 // mean router entropy over MoE layers and micro-batches (nats)
	// Wall time of the step's phases, summed over its micro-batches:
	// forward (with the loss), backward, and the optimizer (gradient norm,
	// AdamW, router bias updates).
	Forward, Backward, Optimizer time.Duration
}

// runStep runs grad_accum_steps micro-batches, then clips and applies AdamW,
// unless the loss or a gradient is non-finite, in which case the gradients
// are dropped and the step is reported as skipped.
func (t *Trainer) runStep() (*StepResult, error) {
	c := t.cfg.Train
	accum := c.GradAccumSteps
	res := &StepResult{LR: t.sched.At(t.scheduleStep())}
	scale := 1 / float64(accum)
	nMoE := len(t.moeLayers)
	if nMoE > 0 {
		res.Load = make([][]int, nMoE)
	}
	for micro := 0; micro < accum; micro++ {
		inputs, targets := t.batches.Next()
		start := time.Now()
		out := t.model.Forward(t.tape, inputs, c.MicroBatchSize, c.SeqLen, t.fwdOpts)
		loss := t.model.Loss(t.tape, out, targets, t.lossCfg)
		res.Forward += time.Since(start)
		res.Loss += loss.Total.Item() * scale
		res.LMLoss += loss.LM.Item() * scale
		if loss.Aux != nil {
			res.AuxLoss += loss.Aux.Item() * scale
		}
		if loss.Z != nil {
			res.ZLoss += loss.Z.Item() * scale
		}
		for l, rt := range out.Routings {
			st := rt.Stats()
			if res.Load[l] == nil {
				res.Load[l] = make([]int, len(st.TokensPerExpert))
			}
			for e, n := range st.TokensPerExpert {
				res.Load[l][e] += n
			}
			res.Dropped += st.Dropped
			res.Entropy += st.Entropy / float64(nMoE*accum)
		}
		res.Tokens += len(inputs)
		if !finite(loss.Total.Item()) {
			res.Skipped, res.BadTensor = true, nonFiniteSource(loss, out.Logits)
			t.tape.Reset()
			break
		}
		start = time.Now()
		if err := t.tape.Backward(t.tape.Scale(loss.Total, scale)); err != nil {
			return nil, err
		}
		t.tape.Reset()
		res.Backward += time.Since(start)
	}
	start := time.Now()
	defer func() { res.Optimizer = time.Since(start) }()
	if !res.Skipped {
		// The norm is non-finite exactly when some gradient is; only then
		// is the slower search for its name worth a pass.
		res.GradNorm = optim.GradNormOn(t.tape.Engine(), t.params)
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
