package train

import (
	"fmt"
	"math"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/optim"
	"github.com/moetrain/moetrain/parallel"
)

// Parallel is one rank's place in a multi-rank run (Options.Parallel). The
// layout is Megatron-Core's: every rank trains on its own share of each
// step's micro-batches; the parameters outside the experts are replicated on
// every rank and their gradients summed over World; with expert parallelism
// (EP.Size() > 1) each MoE layer's experts are split over the EP group, the
// token copies travel to the rank holding their expert and back (the
// expert-parallel dispatcher), and each expert shard's gradients are summed
// over DP, the ranks holding the same shard.
type Parallel struct {
	World parallel.Comm // every rank of the run
	DP    parallel.Comm // the ranks holding this rank's expert shard (all ranks when EP.Size() = 1)
	EP    parallel.Comm // the ranks whose expert shards make one copy of the experts
}

// NewParallel splits world, a run of dp x expertParallel ranks, into this
// rank's groups (parallel.Groups' layout). Every rank of world must call it.
func NewParallel(world parallel.Comm, expertParallel int) (*Parallel, error) {
	if expertParallel < 1 || world.Size()%expertParallel != 0 {
		return nil, fmt.Errorf("parallel.expert_parallel = %d does not divide the %d ranks; use a divisor of parallel.world_size", expertParallel, world.Size())
	}
	dp, ep, err := parallel.Groups(world, world.Size()/expertParallel, expertParallel)
	if err != nil {
		return nil, err
	}
	return &Parallel{World: world, DP: dp, EP: ep}, nil
}

// Close releases the sub-groups (not World, which the caller owns).
func (p *Parallel) Close() {
	_ = p.DP.Close()
	_ = p.EP.Close()
}

// rank returns this rank's world rank (0 in a one-process run).
func (t *Trainer) rank() int {
	if t.par == nil {
		return 0
	}
	return t.par.World.Rank()
}

// worldSize returns the number of ranks (1 in a one-process run).
func (t *Trainer) worldSize() int {
	if t.par == nil {
		return 1
	}
	return t.par.World.Size()
}

// expertParallel reports whether the experts are split over ranks: then
// every rank must run the same forward and backward passes, since each one
// exchanges token copies with the others.
func (t *Trainer) expertParallel() bool { return t.par != nil && t.par.EP.Size() > 1 }

// ownsMicroBatch reports whether micro-batch i of a step's W*A (drawn in the
// same order by every rank from the same sampler) is this rank's: rank r
// trains micro-batches [r*A, (r+1)*A).
func (t *Trainer) ownsMicroBatch(i int) bool {
	a := t.cfg.AccumSteps()
	return i/a == t.rank()
}

// timed runs fn and adds its wall time to the step's communication time.
func (t *Trainer) timed(res *StepResult, fn func() error) error {
	start := time.Now()
	err := fn()
	res.Comm += time.Since(start)
	return err
}

// stepFigureCount is how many values reduceStep sums besides the loads.
const stepFigureCount = 8

// reduceStep sums the step's figures over the ranks, each of which filled res
// from its own micro-batches with the step's global weights, so that every
// rank ends with the figures one rank training on the whole step would have:
// losses, tokens, drops, entropy, the per-expert loads (which the router bias
// update reads) and whether any rank saw a non-finite loss.
func (t *Trainer) reduceStep(res *StepResult) error {
	if t.par == nil {
		return nil
	}
	n := stepFigureCount
	for _, l := range res.Load {
		n += len(l)
	}
	if cap(t.figures) < n {
		t.figures = make([]float32, n)
	}
	buf := t.figures[:n]
	skipped := float32(0)
	if res.Skipped {
		skipped = 1
	}
	copy(buf, []float32{float32(res.Loss), float32(res.LMLoss), float32(res.AuxLoss), float32(res.ZLoss),
		float32(res.Tokens), float32(res.Dropped), float32(res.Entropy), skipped})
	off := stepFigureCount
	for _, l := range res.Load {
		for e, v := range l {
			buf[off+e] = float32(v)
		}
		off += len(l)
	}
	if err := t.timed(res, func() error { return t.par.World.AllReduce(buf, parallel.Sum) }); err != nil {
		return fmt.Errorf("summing the step's losses over the ranks: %w", err)
	}
	res.Loss, res.LMLoss, res.AuxLoss, res.ZLoss = float64(buf[0]), float64(buf[1]), float64(buf[2]), float64(buf[3])
	res.Tokens, res.Dropped, res.Entropy = int(buf[4]), int(buf[5]), float64(buf[6])
	if buf[7] > 0 && !res.Skipped {
		res.Skipped, res.BadTensor = true, "loss on another rank"
	}
	off = stepFigureCount
	for _, l := range res.Load {
		for e := range l {
			l[e] = int(buf[off+e])
		}
		off += len(l)
	}
	return nil
}

// gradBucketLen is the most float32 values one gradient all-reduce carries
// (16 MiB): larger messages make MPI page-fault a fresh buffer every call.
const gradBucketLen = 4 << 20

// smallGradLen is the size under which a parameter's gradient travels packed
// with others' in one bucket instead of in a call of its own.
const smallGradLen = 1 << 16

// syncGrads sums the gradients of the trainable parameters over the ranks
// that hold them: the replicated ones over World, each expert shard's over
// DP. Every rank's gradient was accumulated with the step's global weights
// (runStep), so the sum is the gradient one rank training on the whole step
// would have: nothing is averaged. Small gradients travel packed in buckets.
func (t *Trainer) syncGrads(res *StepResult) error {
	if t.par == nil {
		return nil
	}
	for _, g := range []struct {
		comm   parallel.Comm
		params []*autograd.Tensor
		what   string
	}{{t.par.World, t.replicated, "replicated parameters"}, {t.par.DP, t.expertShard, "expert shards"}} {
		if g.comm.Size() == 1 || len(g.params) == 0 {
			continue
		}
		if err := t.timed(res, func() error { return t.allReduceGrads(g.comm, g.params) }); err != nil {
			return fmt.Errorf("summing the gradients of the %s over the ranks: %w", g.what, err)
		}
	}
	return nil
}

// allReduceGrads sums params' gradients over c: large ones in place, in
// pieces of at most gradBucketLen, small ones copied into a shared bucket.
func (t *Trainer) allReduceGrads(c parallel.Comm, params []*autograd.Tensor) error {
	var pending []*autograd.Tensor
	fill := 0
	flush := func() error {
		if fill == 0 {
			return nil
		}
		buf := t.bucket[:fill]
		off := 0
		for _, p := range pending {
			off += copy(buf[off:], autograd.Grads[float32](p))
		}
		if err := c.AllReduce(buf, parallel.Sum); err != nil {
			return err
		}
		off = 0
		for _, p := range pending {
			off += copy(autograd.Grads[float32](p), buf[off:])
		}
		pending, fill = pending[:0], 0
		return nil
	}
	for _, p := range params {
		g := autograd.Grads[float32](p)
		if len(g) >= smallGradLen {
			for lo := 0; lo < len(g); lo += gradBucketLen {
				if err := c.AllReduce(g[lo:min(lo+gradBucketLen, len(g))], parallel.Sum); err != nil {
					return err
				}
			}
			continue
		}
		if fill+len(g) > gradBucketLen {
			if err := flush(); err != nil {
				return err
			}
		}
		if t.bucket == nil {
			t.bucket = make([]float32, gradBucketLen)
		}
		pending = append(pending, p)
		fill += len(g)
	}
	return flush()
}

// agreeStop returns whether any rank wants to stop before the next step, so
// that every rank stops after the same one.
func (t *Trainer) agreeStop(stop bool) (bool, error) {
	if t.par == nil {
		return stop, nil
	}
	flag := t.scalar(0)
	if stop {
		flag[0] = 1
	}
	if err := t.par.World.AllReduce(flag, parallel.Sum); err != nil {
		return false, fmt.Errorf("agreeing on whether to stop: %w", err)
	}
	return flag[0] > 0, nil
}

// joinRanks makes t one rank of p's run (nothing when p is nil): checks
// that the ranks are the configured ones, splits the experts over the EP
// group and gives each MoE layer the expert-parallel dispatcher, and sorts
// the trainable parameters into the replicated ones and the expert shard.
func (t *Trainer) joinRanks(p *Parallel) error {
	pc := t.cfg.Parallel
	if p == nil {
		if pc.WorldSize > 1 {
			return fmt.Errorf("parallel.world_size = %d, but this trainer is not given its rank (Options.Parallel): start multi-rank runs with RunLocal or RunRank", pc.WorldSize)
		}
		return nil
	}
	if p.World.Size() != pc.WorldSize || p.EP.Size() != pc.ExpertParallel {
		return fmt.Errorf("the run has %d ranks in expert-parallel groups of %d, but parallel.world_size = %d and parallel.expert_parallel = %d; "+
			"start as many ranks as parallel.world_size says (mpirun -np %d)", p.World.Size(), p.EP.Size(), pc.WorldSize, pc.ExpertParallel, pc.WorldSize)
	}
	t.par = p
	if p.EP.Size() > 1 {
		if err := t.splitExperts(p.EP); err != nil {
			return err
		}
		t.params = t.model.Trainable()
	}
	shard := map[*autograd.Tensor]bool{}
	if p.EP.Size() > 1 {
		for _, l := range t.moeLayers {
			for _, w := range t.model.Blocks[l].MoE.Experts.Params() {
				shard[w] = true
			}
		}
	}
	for _, w := range t.params {
		if shard[w] {
			t.expertShard = append(t.expertShard, w)
		} else {
			t.replicated = append(t.replicated, w)
		}
	}
	return nil
}

// shardNames returns the names of the tensors split over the EP group in
// model and optimizer state: every expert weight and its AdamW moments.
func (t *Trainer) shardNames() []string {
	var names []string
	for _, w := range t.expertShard {
		names = append(names, w.Name, optim.ExpAvgKey+w.Name, optim.ExpAvgSqKey+w.Name)
	}
	return names
}

// sliceExperts replaces, in ts read from a checkpoint of the whole model,
// every expert tensor by this rank's shard (a view of its rows). A tensor
// whose experts do not split over the EP group is left for the shape check
// that follows to name.
func (t *Trainer) sliceExperts(ts map[string]*autograd.Tensor) {
	if !t.expertParallel() {
		return
	}
	ep, r := t.par.EP.Size(), t.par.EP.Rank()
	for _, name := range t.shardNames() {
		whole, ok := ts[name]
		if !ok || whole.DType() != autograd.Float32 || len(whole.Shape()) == 0 || whole.Dim(0)%ep != 0 {
			continue
		}
		rows := whole.Dim(0) / ep
		inner := whole.Len() / whole.Dim(0)
		part := autograd.FromSlice(whole.F32()[r*rows*inner:(r+1)*rows*inner], append([]int{rows}, whole.Shape()[1:]...)...)
		part.Name = whole.Name
		ts[name] = part
	}
}

// agreeSaved tells every rank whether rank 0 wrote the checkpoint: err is
// rank 0's result (nil elsewhere); the other ranks return an error when it
// failed, so that no rank trains on past a checkpoint that does not exist.
func (t *Trainer) agreeSaved(err error) error {
	if t.par == nil {
		return err
	}
	flag := t.scalar(0)
	if err != nil {
		flag[0] = 1
	}
	if cerr := t.par.World.AllReduce(flag, parallel.Sum); cerr != nil {
		return fmt.Errorf("telling the ranks whether the checkpoint was written: %w", cerr)
	}
	if err == nil && flag[0] > 0 {
		return fmt.Errorf("rank 0 could not write the checkpoint at step %d (its log says why)", t.step)
	}
	return err
}

// evaluateRanks evaluates the windows in, tg [n][B*T] over the ranks: rank r
// takes windows r, r+W, ..., and the token-weighted loss sums are added up
// over World. With the experts split over ranks every rank must run as many
// forward passes as the others, so a rank short of a window runs window 0
// again with every target ignored, which counts for nothing.
func (t *Trainer) evaluateRanks(in, tg [][]int32) (EvalResult, error) {
	w, r := t.worldSize(), t.rank()
	var mineIn, mineTg [][]int32
	for i := r; i < len(in); i += w {
		mineIn, mineTg = append(mineIn, in[i]), append(mineTg, tg[i])
	}
	if rounds := (len(in) + w - 1) / w; t.expertParallel() && len(mineIn) < rounds && len(in) > 0 {
		ignored := make([]int32, len(tg[0]))
		for i := range ignored {
			ignored[i] = IgnoreIndex
		}
		mineIn, mineTg = append(mineIn, in[0]), append(mineTg, ignored)
	}
	ev := evaluateOn(t.evalTape, t.model, mineIn, mineTg, t.cfg.Train.SeqLen)
	sums := []float32{0, float32(ev.Tokens)}
	if ev.Tokens > 0 {
		sums[0] = float32(ev.Loss * float64(ev.Tokens))
	}
	if err := t.par.World.AllReduce(sums, parallel.Sum); err != nil {
		return EvalResult{}, fmt.Errorf("summing the validation loss over the ranks: %w", err)
	}
	if sums[1] == 0 {
		return EvalResult{Loss: math.NaN(), PPL: math.NaN()}, nil
	}
	loss := float64(sums[0]) / float64(sums[1])
	return EvalResult{Loss: loss, PPL: math.Exp(loss), Tokens: int(sums[1])}, nil
}

// commTimer is what the trainer reads of an expert-parallel dispatcher: the
// wall time it has spent in collectives so far.
type commTimer interface{ CommTime() time.Duration }

// dispatchTime returns the time the expert-parallel dispatchers spent in
// collectives since the last call.
func (t *Trainer) dispatchTime() time.Duration {
	var total time.Duration
	for _, d := range t.dispatchers {
		total += d.CommTime()
	}
	delta := total - t.dispatchSeen
	t.dispatchSeen = total
	return delta
}

// runStepRecovering is runStep turning a failed expert-parallel exchange,
// which the dispatcher (it returns no error) reports by panicking with a
// *parallel.DispatchError, into the step's error. Any other panic is not
// ours to handle and goes on.
func (t *Trainer) runStepRecovering() (sr *StepResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			de, ok := p.(*parallel.DispatchError)
			if !ok {
				panic(p)
			}
			t.tape.Reset()
			sr, err = nil, de
		}
	}()
	return t.runStep()
}

// scalar returns the trainer's one-value buffer for a small collective (the
// stop and save agreements, the shard norms) set to v: these run every step,
// and a fresh slice handed to a Comm would be a heap allocation each time.
func (t *Trainer) scalar(v float32) []float32 {
	t.one[0] = v
	return t.one[:]
}
