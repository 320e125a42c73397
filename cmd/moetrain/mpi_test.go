//go:build mpi

package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/train"
)

// Training under mpirun with the MPI backend (the mpi build). The test
// binary acts as the moetrain command in each MPI process (TestMain).
// Mutations caught: the ranks' gradient sums dropped or averaged (every
// layout differs from one rank); executeRanks not checking the job's size
// against parallel.world_size (TestMPIWorldSizeMismatch); the killed-rank
// job left running (TestMPIKilledRank's deadline).

// mpiSets is a small hybrid model with shared experts and capacity dropping,
// randomness off, 8 sequences a step.
var mpiSets = []string{
	"--set", "model.d_model=16", "--set", "model.n_layers=3", "--set", "model.n_heads=2", "--set", "model.n_kv_heads=1",
	"--set", "model.ffn_hidden_size=32", "--set", "model.max_seq_len=16", "--set", "moe.num_experts=4", "--set", "moe.top_k=2",
	"--set", "moe.expert_ffn_hidden_size=16", "--set", "moe.layer_freq=[0,1,1]", "--set", "moe.shared_experts=1",
	"--set", "moe.capacity_factor=1.0", "--set", "train.seq_len=16", "--set", "train.micro_batch_size=2",
	"--set", "train.global_batch_size=8", "--set", "train.log_every=1", "--set", "train.eval_every=0",
	"--set", "train.checkpoint_every=0", "--set", "data.val_fraction=0", "--set", "parallel.timeout=30",
}

// mpirun runs this test binary as moetrain under mpirun with np processes
// and returns its output and exit status.
func mpirun(t *testing.T, ctx context.Context, np int, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	bin, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("the mpi build needs mpirun on PATH (Debian: apt-get install openmpi-bin): %v", err)
	}
	all := append([]string{"--allow-run-as-root", "--oversubscribe", "-np", strconv.Itoa(np), os.Args[0]}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "MOETRAINTEST_AS_CLI=1")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// finalRun reads a run's per-step losses and final weights.
func finalRun(t *testing.T, dir string) ([]float64, map[string][]float32) {
	t.Helper()
	recs, err := train.ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for _, r := range recs {
		losses = append(losses, r.Loss)
	}
	latest, err := checkpoint.Resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(latest)
	if err != nil {
		t.Fatal(err)
	}
	ws := map[string][]float32{}
	for name, ts := range ck.Model {
		ws[name] = slices.Clone(ts.F32())
	}
	return losses, ws
}

// sameRun holds the run in dir to the reference's per-step losses and final
// weights (relative L2 per tensor) within rel.
func sameRun(t *testing.T, dir string, wantLoss []float64, wantW map[string][]float32, rel float64) {
	t.Helper()
	gotLoss, gotW := finalRun(t, dir)
	if len(gotLoss) != len(wantLoss) {
		t.Fatalf("%d logged steps, want %d", len(gotLoss), len(wantLoss))
	}
	for i := range wantLoss {
		if math.Abs(gotLoss[i]-wantLoss[i]) > rel*math.Abs(wantLoss[i]) {
			t.Errorf("step %d: loss %.8g, the reference's %.8g", i+1, gotLoss[i], wantLoss[i])
		}
	}
	for name, w := range wantW {
		g := gotW[name]
		if len(g) != len(w) {
			t.Errorf("final %s: %d values, want %d", name, len(g), len(w))
			continue
		}
		var num, den float64
		for i := range w {
			num += (float64(g[i]) - float64(w[i])) * (float64(g[i]) - float64(w[i]))
			den += float64(w[i]) * float64(w[i])
		}
		if den > 0 && math.Sqrt(num/den) > rel {
			t.Errorf("final %s differs from the reference's by a relative %.2g", name, math.Sqrt(num/den))
		}
	}
}

// TestMPITrainingEqualsOneRank: 20 steps under mpirun at 2 processes (dp 2),
// 2 (ep 2), 4 (dp 2 x ep 2) and 4 (ep 4) reproduce one rank's per-step losses
// and final weights on the same global batch to 1e-4 relative.
func TestMPITrainingEqualsOneRank(t *testing.T) {
	steps := "20"
	if testing.Short() {
		steps = "6"
	}
	base := append([]string{"pretrain", "--config", "tiny", "--set", "train.steps=" + steps}, mpiSets...)
	oneDir := filepath.Join(t.TempDir(), "one")
	if _, errs, code := run(t, append(base, "--out", oneDir)...); code != 0 {
		t.Fatalf("one-rank run: exit %d: %s", code, errs)
	}
	wantLoss, wantW := finalRun(t, oneDir)
	for _, l := range []struct{ np, ep int }{{2, 1}, {2, 2}, {4, 2}, {4, 4}} {
		t.Run(fmt.Sprintf("np%d_ep%d", l.np, l.ep), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd, out := mpirun(t, ctx, l.np, append(base, "--out", dir, "--set", "parallel.backend=mpi",
				"--set", fmt.Sprintf("parallel.world_size=%d", l.np), "--set", fmt.Sprintf("parallel.expert_parallel=%d", l.ep))...)
			if err := cmd.Run(); err != nil {
				t.Fatalf("mpirun: %v\n%s", err, out.String())
			}
			if n := strings.Count(out.String(), "done: "); n != 1 {
				t.Errorf("%d ranks printed the result, want rank 0 alone:\n%s", n, out.String())
			}
			sameRun(t, dir, wantLoss, wantW, 1e-4)
		})
	}
}

// TestMPIWorldSizeMismatch: a job of 2 processes told parallel.world_size=4
// stops at once with an error saying how to launch it.
func TestMPIWorldSizeMismatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, out := mpirun(t, ctx, 2, append([]string{"pretrain", "--config", "tiny", "--out", filepath.Join(t.TempDir(), "run"),
		"--set", "train.steps=2", "--set", "parallel.backend=mpi", "--set", "parallel.world_size=4"}, mpiSets...)...)
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "the MPI job has 2 processes but parallel.world_size = 4; launch with mpirun -np 4") {
		t.Fatalf("mpirun: %v, want a refusal naming the sizes:\n%s", err, out.String())
	}
}

// TestMPIKilledRank: kill -9 of one rank mid-training ends the whole job
// within seconds (Open MPI aborts it: mpirun notices the lost process and
// names it), instead of leaving the other rank waiting.
func TestMPIKilledRank(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "run")
	cmd, out := mpirun(t, ctx, 2, append([]string{"pretrain", "--config", "tiny", "--out", dir, "--set", "train.steps=100000",
		"--set", "parallel.backend=mpi", "--set", "parallel.world_size=2", "--set", "parallel.expert_parallel=2"}, mpiSets...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	victim := 0
	for time.Now().Before(deadline) && (victim == 0 || !strings.Contains(out.String(), "step ")) {
		victim = rankPID(cmd.Process.Pid, "1")
		time.Sleep(50 * time.Millisecond)
	}
	if victim == 0 {
		t.Fatalf("found no rank 1 process training:\n%s", out.String())
	}
	killed := time.Now()
	if err := syscallKill(victim); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	took := time.Since(killed)
	if err == nil {
		t.Fatalf("the job exited 0 after its rank 1 was killed:\n%s", out.String())
	}
	if took > 30*time.Second {
		t.Errorf("the job ended %v after the kill, want within the 30 s timeout", took)
	}
	if !strings.Contains(out.String(), "rank 1") {
		t.Errorf("the output does not name rank 1:\n%s", out.String())
	}
	t.Logf("job ended %v after rank 1 was killed", took)
}

// rankPID finds the process of the given MPI rank among parent's children
// (mpirun forks local ranks itself), or 0.
func rankPID(parent int, rank string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "OMPI_COMM_WORLD_RANK="+rank {
				return pid
			}
		}
	}
	return 0
}

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// TestMPIReshard: a checkpoint written at 4 processes (dp 2 x ep 2) resumes
// at one process, at 2 (ep 2) and at 4 (dp 1 x ep 4) under mpirun and takes
// the steps the uninterrupted 4-process run took (losses and final weights to
// 1e-5 relative).
func TestMPIReshard(t *testing.T) {
	base := append(append([]string{"pretrain", "--config", "tiny"}, mpiSets...), "--set", "train.steps=5",
		"--set", "train.checkpoint_every=1", "--set", "train.keep_last=5")
	mpi := func(np, ep int) []string {
		return []string{"--set", "parallel.backend=mpi", "--set", fmt.Sprintf("parallel.world_size=%d", np),
			"--set", fmt.Sprintf("parallel.expert_parallel=%d", ep)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := filepath.Join(t.TempDir(), "full")
	cmd, out := mpirun(t, ctx, 4, append(append(base, "--out", full), mpi(4, 2)...)...)
	if err := cmd.Run(); err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out.String())
	}
	wantLoss, wantW := finalRun(t, full)
	for _, l := range []struct{ np, ep int }{{1, 1}, {2, 2}, {4, 4}} {
		t.Run(fmt.Sprintf("np%d_ep%d", l.np, l.ep), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(dir, os.DirFS(full)); err != nil {
				t.Fatal(err)
			}
			ck := filepath.Join(dir, checkpoint.CheckpointsDir)
			for _, s := range []int{4, 5} {
				if err := os.RemoveAll(filepath.Join(ck, checkpoint.StepDirName(s))); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(ck, checkpoint.LatestFile), []byte(checkpoint.StepDirName(3)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(append(base, "--out", dir, "--resume"), mpi(l.np, l.ep)...)
			if l.np == 1 {
				if _, errs, code := run(t, append(base, "--out", dir, "--resume")...); code != 0 {
					t.Fatalf("resume at one rank: exit %d: %s", code, errs)
				}
			} else {
				cmd, out := mpirun(t, ctx, l.np, args...)
				if err := cmd.Run(); err != nil {
					t.Fatalf("mpirun: %v\n%s", err, out.String())
				}
			}
			sameRun(t, dir, wantLoss, wantW, 1e-5)
		})
	}
}
