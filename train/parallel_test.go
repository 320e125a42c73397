package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/parallel"
)

// Multi-rank training on the local backend against one rank training on the
// same global batch. Mutations caught:
//   - syncGrads not called, or summing only the expert shards: every
//     TestParallelEqualsOneRank case (weights diverge after step 1).
//   - gradients averaged (Avg) instead of summed, the 1/dp error: the dp
//     cases (losses of step 2 on differ).
//   - ownsMicroBatch giving every rank micro-batch 0..A-1 (all ranks train
//     the same data): the dp cases.
//   - reduceStep not summing the loads (router bias updates differ between
//     ranks): the expert_bias case.
//   - sliceExperts / gatherExperts skipped: the ep cases (final checkpoint
//     shapes or values differ) and TestParallelResume.
//   - the trainer not recovering the dispatcher's *parallel.DispatchError (the
//     test binary crashes): TestParallelLostInDispatch.
//   - agreeStop not reducing (a stopped rank leaves its peers waiting):
//     TestParallelStop fails by timeout.

// parallelBase is a small hybrid model (a dense layer, then MoE layers with
// a shared expert and capacity dropping) with every source of randomness
// off, so one rank and several compute the same steps.
var parallelBase = []string{
	"model.d_model=16", "model.n_layers=3", "model.n_heads=2", "model.n_kv_heads=1", "model.ffn_hidden_size=32",
	"model.max_seq_len=16", "moe.num_experts=4", "moe.top_k=2", "moe.expert_ffn_hidden_size=16",
	"moe.layer_freq=[0,1,1]", "moe.shared_experts=1", "moe.capacity_factor=1.0",
	"moe.aux_loss_coeff=0.01", "moe.z_loss_coeff=0.001",
	"train.seq_len=16", "train.micro_batch_size=2", "train.global_batch_size=8", "train.log_every=1",
	"train.eval_every=0", "train.checkpoint_every=0", "train.dropout=0", "moe.router.jitter_eps=0",
	"data.val_fraction=0",
}

// parallelRun is what one training run at some layout leaves: the per-step
// losses of its metrics and the final checkpoint's model tensors.
type parallelRun struct {
	losses  []float64
	weights map[string][]float32
	dir     string
}

// trainLayout trains steps steps of parallelBase plus sets at world w with
// expert-parallel degree ep (w = 1: the one-process trainer, no Parallel).
func trainLayout(t *testing.T, w, ep, steps int, sets ...string) parallelRun {
	t.Helper()
	dir := t.TempDir()
	return trainIn(t, dir, false, 0, w, ep, steps, sets...)
}

func layoutConfig(t *testing.T, w, ep, steps int, sets ...string) *configs.Config {
	t.Helper()
	all := append(slices.Clone(parallelBase), fmt.Sprintf("train.steps=%d", steps),
		fmt.Sprintf("parallel.world_size=%d", w), fmt.Sprintf("parallel.expert_parallel=%d", ep), "parallel.timeout=20")
	c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: append(all, sets...)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trainIn is trainLayout in dir, resuming the run there when resume is set,
// and stopping after step stopAt when it is positive (Stop on the last rank).
func trainIn(t *testing.T, dir string, resume bool, stopAt, w, ep, steps int, sets ...string) parallelRun {
	t.Helper()
	c := layoutConfig(t, w, ep, steps, sets...)
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	off := false
	var last *Trainer
	opts := func(r int) (Options, error) {
		o := Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c), Val: ds.EvalSet(c), TTY: &off, Resume: resume}
		if r == w-1 && stopAt > 0 {
			o.OnStep = func(step int) {
				if step == stopAt {
					last.Stop()
				}
			}
		}
		return o, nil
	}
	started := func(r int, tr *Trainer) {
		if r == w-1 {
			last = tr
		}
	}
	if w == 1 {
		o, _ := opts(0)
		tr, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		started(0, tr)
		if _, err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	} else if _, err := RunLocal(context.Background(), c, opts, started); err != nil {
		t.Fatal(err)
	}
	return readRun(t, dir)
}

func readRun(t *testing.T, dir string) parallelRun {
	t.Helper()
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	run := parallelRun{dir: dir, weights: map[string][]float32{}}
	for _, r := range recs {
		run.losses = append(run.losses, r.Loss)
	}
	latest, err := checkpoint.Resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(latest)
	if err != nil {
		t.Fatal(err)
	}
	for name, ts := range ck.Model {
		run.weights[name] = slices.Clone(ts.F32())
	}
	return run
}

// compareRuns holds got's losses and final weights to want's within rel.
func compareRuns(t *testing.T, got, want parallelRun, rel float64) {
	t.Helper()
	if len(got.losses) != len(want.losses) {
		t.Fatalf("%d logged steps, want %d", len(got.losses), len(want.losses))
	}
	for i := range want.losses {
		if !near(got.losses[i], want.losses[i], rel) {
			t.Errorf("step %d: loss %.9g, one rank %.9g (rel %.2g)", i+1, got.losses[i], want.losses[i],
				math.Abs(got.losses[i]-want.losses[i])/math.Abs(want.losses[i]))
		}
	}
	if len(got.weights) != len(want.weights) {
		t.Fatalf("%d tensors in the final checkpoint, want %d", len(got.weights), len(want.weights))
	}
	for name, w := range want.weights {
		g, ok := got.weights[name]
		if !ok || len(g) != len(w) {
			t.Errorf("final checkpoint: %s has %d values, want %d", name, len(g), len(w))
			continue
		}
		var num, den float64
		for i := range w {
			d := float64(g[i]) - float64(w[i])
			num += d * d
			den += float64(w[i]) * float64(w[i])
		}
		if den > 0 && math.Sqrt(num/den) > rel {
			t.Errorf("final %s differs from one rank's by a relative %.2g", name, math.Sqrt(num/den))
		}
	}
}

// TestParallelEqualsOneRank: 20 steps at world 2 (dp 2), 2 (ep 2), 4 (dp 2 x
// ep 2) and 4 (ep 4) reproduce one rank's per-step losses and final weights
// on the same global batch of 8 sequences to 1e-5 relative.
func TestParallelEqualsOneRank(t *testing.T) {
	steps := 20
	if testing.Short() {
		steps = 6
	}
	want := trainLayout(t, 1, 1, steps)
	for _, l := range []struct{ w, ep int }{{2, 1}, {2, 2}, {4, 2}, {4, 4}} {
		t.Run(fmt.Sprintf("world%d_ep%d", l.w, l.ep), func(t *testing.T) {
			compareRuns(t, trainLayout(t, l.w, l.ep, steps), want, 1e-5)
		})
	}
}

// TestParallelExpertBias: the aux-loss-free bias update reads the loads
// summed over the ranks, so the biases (and the steps) stay the one-rank ones.
func TestParallelExpertBias(t *testing.T) {
	sets := []string{"moe.router.expert_bias=true", "moe.router.bias_update_rate=0.05", "moe.router.type=sigmoid"}
	want := trainLayout(t, 1, 1, 6, sets...)
	compareRuns(t, trainLayout(t, 2, 1, 6, sets...), want, 1e-5)
	compareRuns(t, trainLayout(t, 2, 2, 6, sets...), want, 1e-5)
}

// TestParallelResume: a run at world 2 (ep 2) stopped after 3 steps and
// resumed from its (gathered, whole-model) checkpoint ends where an
// uninterrupted one does; so does the same checkpoint resumed at world 4
// (ep 4) and at one rank (within float32 summation order).
func TestParallelResume(t *testing.T) {
	want := trainLayout(t, 2, 2, 6)
	dir := t.TempDir()
	trainIn(t, dir, false, 3, 2, 2, 6)
	got := trainIn(t, dir, true, 0, 2, 2, 6)
	compareRuns(t, got, want, 1e-6)
	for _, l := range []struct{ w, ep int }{{4, 4}, {1, 1}} {
		dir := t.TempDir()
		trainIn(t, dir, false, 3, 2, 2, 6)
		compareRuns(t, trainInAt(t, dir, l.w, l.ep), want, 1e-5)
	}
}

// trainInAt resumes dir's run, saved at another layout, at world w with
// expert-parallel degree ep, to its 6 steps.
func trainInAt(t *testing.T, dir string, w, ep int) parallelRun {
	t.Helper()
	return trainIn(t, dir, true, 0, w, ep, 6)
}

// TestParallelLostRank: a rank whose data source fails makes the run stop
// with that rank's error, not a hang or its peers' reports of losing it.
func TestParallelLostRank(t *testing.T) {
	c := layoutConfig(t, 2, 2, 3, "parallel.timeout=5")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = RunLocal(context.Background(), c, func(r int) (Options, error) {
		if r == 1 {
			return Options{}, errors.New("rank 1's data is gone")
		}
		return Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c)}, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "rank 1") || !strings.Contains(err.Error(), "data is gone") {
		t.Fatalf("got %v, want rank 1's own error", err)
	}
	var pe *parallel.Error
	if errors.As(err, &pe) {
		t.Errorf("the error is a peer's report (%v), not the failing rank's", err)
	}
}

// TestParallelStop: Stop on one rank stops every rank after the same step,
// and the run saves a checkpoint there; rank 0's metrics give the ranks and
// the share of time in communication.
func TestParallelStop(t *testing.T) {
	c := layoutConfig(t, 2, 1, 50)
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var trainers [2]*Trainer
	res, err := RunLocal(context.Background(), c, func(r int) (Options, error) {
		o := Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c)}
		if r == 1 {
			o.OnStep = func(step int) {
				if step == 3 {
					trainers[1].Stop()
				}
			}
		}
		return o, nil
	}, func(r int, tr *Trainer) { trainers[r] = tr })
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Steps != 3 {
		t.Fatalf("rank 0 stopped after %d steps (interrupted %v), want 3", res.Steps, res.Interrupted)
	}
	if s := trainers[1].StepsDone(); s != 3 {
		t.Errorf("rank 1 stopped after %d steps, want 3", s)
	}
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d logged steps, want 3", len(recs))
	}
	if r := recs[2]; r.Ranks != 2 || !(r.CommShare > 0 && r.CommShare < 1) {
		t.Errorf("metrics say %d ranks, communication share %v; want 2 and a fraction", r.Ranks, r.CommShare)
	}
}

// blockingBatches serves its inner batches until release is closed: a rank
// stuck in its data source.
type blockingBatches struct {
	Batches
	release <-chan struct{}
}

func (b blockingBatches) Next() ([]int32, []int32) {
	<-b.release
	return b.Batches.Next()
}

// TestConfigWiringRanks follows the parallel.* keys into multi-rank runs
// (parallel.backend, read by the command, is followed by cmd/moetrain's
// TestPretrainParallel): world_size sets the ranks (and with it the tokens
// of a step), expert_parallel each rank's share of the experts, timeout how
// long a rank waits for a stuck peer.
func TestConfigWiringRanks(t *testing.T) {
	for _, l := range []struct{ w, ep, experts int }{{2, 1, 4}, {2, 2, 2}, {4, 4, 1}} {
		c := layoutConfig(t, l.w, l.ep, 1)
		ds, err := LoadData(c)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var mu sync.Mutex
		counts := map[int]int{}
		res, err := RunLocal(context.Background(), c, func(int) (Options, error) {
			return Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c)}, nil
		}, func(r int, tr *Trainer) {
			mu.Lock()
			defer mu.Unlock()
			counts[r] = tr.Model().Blocks[1].MoE.Experts.Count()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != l.w {
			t.Errorf("world %d: %d ranks started", l.w, len(counts))
		}
		for r, n := range counts {
			if n != l.experts {
				t.Errorf("world %d, expert_parallel %d: rank %d holds %d experts, want %d", l.w, l.ep, r, n, l.experts)
			}
		}
		if want := int64(c.GlobalBatch() * c.Train.SeqLen); res.Tokens != want {
			t.Errorf("world %d: a step trained %d tokens, want %d", l.w, res.Tokens, want)
		}
	}
	c := layoutConfig(t, 2, 1, 2, "parallel.timeout=1")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	time.AfterFunc(5*time.Second, func() { close(release) }) // rank 1 comes back long after the timeout
	_, err = RunLocal(context.Background(), c, func(r int) (Options, error) {
		o := Options{Config: c, RunDir: t.TempDir(), Train: ds.TrainBatches(c)}
		if r == 1 {
			o.Train = blockingBatches{o.Train, release}
		}
		return o, nil
	}, nil)
	var pe *parallel.Error
	if !errors.As(err, &pe) || !pe.HasPeer(1) || !strings.Contains(err.Error(), "timeout of 1s") {
		t.Fatalf("got %v, want a collective error naming rank 1 and the timeout of 1s", err)
	}
}

// closingComm is a communicator (and the groups split from it) that closes
// itself at its after-th AllToAllV: a rank lost in the middle of an
// expert-parallel exchange.
type closingComm struct {
	parallel.Comm
	calls *int
	after int
}

func (c closingComm) AllToAllV(send []float32, sendCounts []int, recv []float32, recvCounts []int) error {
	if *c.calls++; *c.calls == c.after {
		_ = c.Comm.Close()
	}
	return c.Comm.AllToAllV(send, sendCounts, recv, recvCounts)
}

func (c closingComm) Split(color, key int) (parallel.Comm, error) {
	s, err := c.Comm.Split(color, key)
	if err != nil || s == nil {
		return s, err
	}
	return closingComm{s, c.calls, c.after}, nil
}

// TestParallelLostInDispatch: a rank lost in the middle of a step's token
// exchanges makes its peer's step fail with an error naming it (the
// dispatcher's panic recovered into the run's error), not a crash.
func TestParallelLostInDispatch(t *testing.T) {
	c := layoutConfig(t, 2, 2, 3, "parallel.timeout=5")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	comms, err := parallel.NewLocal(2, parallel.LocalOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r, comm := range comms {
		calls := 0
		if r == 1 {
			comm = closingComm{comm, &calls, 5} // in the first step's forward pass
		}
		wg.Go(func() {
			_, errs[r] = RunRank(context.Background(), comm, c, func(int) (Options, error) {
				return Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c)}, nil
			}, nil)
		})
	}
	wg.Wait()
	var pe *parallel.Error
	if !errors.As(errs[0], &pe) || !pe.HasPeer(1) || !strings.Contains(errs[0].Error(), "expert-parallel dispatch") {
		t.Fatalf("rank 0: %v; want an expert-parallel dispatch error naming rank 1", errs[0])
	}
}

// TestShardedCheckpointReshards: a checkpoint saved at world 4 (dp 2 x ep 2)
// is written by all four ranks (no rank holds the whole model: four model
// files, none the size of the whole), and resumes at world 1, world 2 (ep 2)
// and world 4 (dp 1 x ep 4) to the steps the uninterrupted world-4 run
// takes, losses and weights to 1e-5 relative.
func TestShardedCheckpointReshards(t *testing.T) {
	want := trainLayout(t, 4, 2, 5)
	saved := t.TempDir()
	trainIn(t, saved, false, 3, 4, 2, 5)
	step, err := checkpoint.Resolve(saved)
	if err != nil {
		t.Fatal(err)
	}
	m, err := checkpoint.ReadManifest(step)
	if err != nil {
		t.Fatal(err)
	}
	if m.Layout == nil || m.Layout.WorldSize != 4 || m.Layout.ExpertParallel != 2 || m.Step != 3 {
		t.Fatalf("manifest of step %d says layout %+v, want step 3 at world 4, ep 2", m.Step, m.Layout)
	}
	var total, most int64
	files := 0
	for name, fs := range m.Files {
		if checkpoint.ShardFileOf(name, checkpoint.GroupModel) {
			files++
			total += fs.Size
			most = max(most, fs.Size)
		}
	}
	if files != 4 || most*2 > total {
		t.Errorf("%d model files, the largest %d of %d bytes: want four ranks' shares", files, most, total)
	}
	for _, l := range []struct{ w, ep int }{{1, 1}, {2, 2}, {4, 4}} {
		t.Run(fmt.Sprintf("world%d_ep%d", l.w, l.ep), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(saved)); err != nil {
				t.Fatal(err)
			}
			compareRuns(t, trainIn(t, dir, true, 0, l.w, l.ep, 5), want, 1e-5)
		})
	}
}

// TestParallelEvaluation: the ranks share out the validation windows (3
// over 2 ranks: one rank runs a padding window whose targets are all
// ignored, so that its expert exchanges match its peer's) and the summed
// loss is the one-rank evaluation's. Mutations caught: the padding window
// dropped (the ranks' exchanges disagree and the run fails); the padding
// window's targets not ignored (its tokens count: the loss differs); the
// loss sums not reduced (rank 0 reports its own windows only).
func TestParallelEvaluation(t *testing.T) {
	sets := []string{"data.val_fraction=0.05", "train.eval_every=2", "train.eval_batches=3"}
	val := func(r parallelRun) []float64 {
		recs, err := ReadMetrics(filepath.Join(r.dir, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, rec := range recs {
			if rec.ValLoss != nil {
				out = append(out, *rec.ValLoss)
			}
		}
		return out
	}
	want := val(trainLayout(t, 1, 1, 4, sets...))
	got := val(trainLayout(t, 2, 2, 4, sets...))
	if len(want) != 2 || len(got) != len(want) {
		t.Fatalf("evaluations: one rank %v, two ranks %v", want, got)
	}
	for i := range want {
		if !near(got[i], want[i], 1e-5) {
			t.Errorf("evaluation %d: val loss %.8g at two ranks, %.8g at one", i+1, got[i], want[i])
		}
	}
}
