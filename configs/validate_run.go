package configs

import (
	"fmt"
	"strings"
)

func (v *checks) train(c *Config) {
	t := c.Train
	v.atLeast("train.steps", t.Steps, 0, "give the number of optimizer steps, e.g. 300 (0 writes the starting model as a step-0 checkpoint)")
	v.atLeast("train.micro_batch_size", t.MicroBatchSize, 1, "give the sequences per forward pass, e.g. 8")
	v.atLeast("train.grad_accum_steps", t.GradAccumSteps, 1, "use 1 for no gradient accumulation")
	v.atLeast("train.global_batch_size", t.GlobalBatchSize, 0, "use 0 for micro_batch_size x world_size x grad_accum_steps")
	v.globalBatch(c)
	v.atLeast("train.seq_len", t.SeqLen, 1, "give the tokens per training sequence, e.g. 128")
	if t.SeqLen > c.Model.MaxSeqLen && c.Model.MaxSeqLen >= 1 {
		v.fail("train.seq_len", t.SeqLen, fmt.Sprintf("is longer than model.max_seq_len = %d", c.Model.MaxSeqLen),
			"shorten train.seq_len or raise model.max_seq_len")
	}
	v.positive("train.lr", t.LR, "give a positive learning rate such as 3e-4")
	v.nonNegative("train.min_lr", t.MinLR, "use 0 to decay to zero")
	if t.MinLR > t.LR && t.LR > 0 {
		v.fail("train.min_lr", t.MinLR, fmt.Sprintf("is above train.lr = %s", formatValue(t.LR)),
			"the schedule decays from lr to min_lr; make min_lr <= lr")
	}
	v.atLeast("train.warmup_steps", t.WarmupSteps, 0, "use 0 for no warmup") // one at or above train.steps is shortened by the trainer
	v.oneOf("train.schedule", string(t.Schedule))
	v.nonNegative("train.weight_decay", t.WeightDecay, "use 0 for no weight decay")
	v.nonNegative("train.grad_clip", t.GradClip, "use 0 to switch clipping off")
	v.oneOf("train.precision", string(t.Precision))
	v.atLeast("train.log_every", t.LogEvery, 1, "log every N steps, e.g. 10")
	v.atLeast("train.eval_every", t.EvalEvery, 0, "use 0 to never evaluate")
	v.atLeast("train.eval_batches", t.EvalBatches, 1, "evaluate on at least 1 micro-batch")
	v.atLeast("train.checkpoint_every", t.CheckpointEvery, 0, "use 0 to save only at the end")
	v.atLeast("train.keep_last", t.KeepLast, 1, "keep at least the latest checkpoint")
	v.fraction("train.beta1", t.Beta1, "the usual value is 0.9")
	v.fraction("train.beta2", t.Beta2, "the usual values are 0.95 to 0.999")
	v.positive("train.eps", t.Eps, "the usual value is 1e-8")
	v.fraction("train.dropout", t.Dropout, "use 0 for no dropout")
}

func (v *checks) data(c *Config) {
	d := c.Data
	if v.oneOf("data.format", string(d.Format)) && d.Path == "" && d.Format != FormatAuto && d.Format != FormatText {
		v.fail("data.format", d.Format, "needs data.path; the built-in corpus is plain text",
			"set data.path, or data.format to auto")
	}
	switch {
	case d.Tokenizer == ByteTokenizer:
	case strings.HasSuffix(strings.ToLower(d.Tokenizer), ".json"):
	default:
		hint := `use "byte" or the path of a tokenizer.json`
		if suggestValue(d.Tokenizer, []string{ByteTokenizer}) != "" {
			hint = `did you mean "byte"?`
		}
		v.fail("data.tokenizer", d.Tokenizer, "is neither \"byte\" nor the path of a .json tokenizer", hint)
	}
	if strings.TrimSpace(d.TextField) == "" {
		v.fail("data.text_field", d.TextField, "is empty", `give the field or column holding the text, e.g. "text"`)
	}
	v.fraction("data.val_fraction", d.ValFraction, "hold out a small share such as 0.05, or 0 for none")
	if d.ValFraction == 0 && c.Train.EvalEvery > 0 {
		v.fail("data.val_fraction", d.ValFraction, fmt.Sprintf("holds out no data, but train.eval_every = %d",
			c.Train.EvalEvery), "set data.val_fraction (e.g. 0.05), or train.eval_every=0")
	}
}

// globalBatch checks that train.global_batch_size, when set, splits into whole micro-batches on every
// rank. It then decides the accumulation (AccumSteps), and train.grad_accum_steps is not read.
func (v *checks) globalBatch(c *Config) {
	t, w := c.Train, c.Parallel.WorldSize
	if t.GlobalBatchSize <= 0 || t.MicroBatchSize < 1 || w < 1 {
		return
	}
	per := t.MicroBatchSize * w // sequences of one micro-batch on every rank
	if t.GlobalBatchSize%per != 0 {
		v.fail("train.global_batch_size", t.GlobalBatchSize, fmt.Sprintf("is not a multiple of micro_batch_size x world_size = %d x %d = %d",
			t.MicroBatchSize, w, per), fmt.Sprintf("use a multiple of %d, e.g. %d", per, max(per, t.GlobalBatchSize/per*per)))
		return
	}
}

func (v *checks) parallel(c *Config) {
	p := c.Parallel
	v.oneOf("parallel.backend", string(p.Backend))
	v.positive("parallel.timeout", p.Timeout, "give the seconds a collective may wait for a peer, e.g. 300")
	v.atLeast("parallel.world_size", p.WorldSize, 1, "use 1 for a single process")
	v.atLeast("parallel.expert_parallel", p.ExpertParallel, 1, "use 1 for no expert parallelism")
	if p.WorldSize < 1 || p.ExpertParallel < 1 {
		return
	}
	if p.WorldSize%p.ExpertParallel != 0 {
		v.fail("parallel.expert_parallel", p.ExpertParallel, fmt.Sprintf("does not divide parallel.world_size = %d",
			p.WorldSize), "the ranks split into groups of expert_parallel; use a divisor of world_size")
		return
	}
	if p.ExpertParallel == 1 {
		return
	}
	if c.IsDense() {
		v.fail("parallel.expert_parallel", p.ExpertParallel, "is more than 1 for a dense model, which has no experts",
			"use parallel.expert_parallel=1")
		return
	}
	for i, e := range c.layerExperts() {
		if c.isMoELayer(i) && e%p.ExpertParallel != 0 {
			v.fail("parallel.expert_parallel", p.ExpertParallel, fmt.Sprintf("does not divide the %d experts of layer %d",
				e, i), fmt.Sprintf("each rank of an expert-parallel group holds num_experts/expert_parallel experts: use one of %s (dividing parallel.world_size too)", divisors(e)))
			return
		}
	}
}

// divisors lists n's divisors, "1, 2, 4", for hints.
func divisors(n int) string {
	var ds []string
	for d := 1; d <= n && len(ds) < 32; d++ {
		if n%d == 0 {
			ds = append(ds, fmt.Sprint(d))
		}
	}
	return strings.Join(ds, ", ")
}
