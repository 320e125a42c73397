package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/parallel"
)

// Multi-rank runs through the CLI. Mutations caught: execute not routing
// parallel.world_size > 1 to executeRanks (train.New refuses it, the run
// fails); ranks other than 0 claiming the run directory with --force (the
// second run's output loses its checkpoint); the parallel line dropped.

// TestPretrainParallel: pretrain at world 2 with expert parallelism on the
// local backend trains, says how its ranks are laid out, and leaves a
// checkpoint of the whole model that eval and generate read; --force over
// it works; parallel.backend=mpi without mpirun (or without MPI built in) is
// refused naming the backend.
func TestPretrainParallel(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"pretrain", "--config", "tiny", "--out", runDir, "--set", "parallel.world_size=2",
		"--set", "parallel.expert_parallel=2", "--set", "train.global_batch_size=8"}, smallSets...)
	for _, extra := range [][]string{nil, {"--force"}} {
		out, errs, code := run(t, append(args, extra...)...)
		if code != 0 {
			t.Fatalf("pretrain %v: exit %d: %s", extra, code, errs)
		}
		for _, want := range []string{"parallel: 2 ranks (local backend), 1 data-parallel x 2 expert-parallel; global batch 8 sequences = 4 per micro-batch x 2 ranks x 1 accumulation steps; ",
			"model: 2 layers (2 MoE), 47.5k parameters (35.2k on each rank: the experts split over 2)", "step 8/8", "val loss", "done: 8 steps"} {
			if !strings.Contains(out, want) {
				t.Errorf("pretrain %v output lacks %q:\n%s", extra, want, out)
			}
		}
	}
	if out, errs, code := run(t, "eval", "--ckpt", runDir); code != 0 || !strings.Contains(out, "loss") {
		t.Fatalf("eval of the multi-rank run: exit %d: %s %s", code, out, errs)
	}
	if out, errs, code := run(t, "generate", "--ckpt", runDir, "--prompt", "The", "-n", "5"); code != 0 || !strings.HasPrefix(out, "The") {
		t.Fatalf("generate from the multi-rank run: exit %d: %q %s", code, out, errs)
	}
	_, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", filepath.Join(t.TempDir(), "mpi"),
		"--set", "parallel.backend=mpi", "--set", "parallel.world_size=2"}, smallSets...)...)
	want := "parallel.backend=mpi"
	if !parallel.MPIBuilt() {
		want = "built without MPI"
	}
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("pretrain with the mpi backend outside mpirun: exit %d, stderr %q; want exit 1 saying %q", code, errs, want)
	}
}

// TestRankOutput: ranks other than 0 of an MPI job print nothing to stdout.
func TestRankOutput(t *testing.T) {
	for _, tc := range []struct {
		vars  map[string]string
		quiet bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OMPI_COMM_WORLD_RANK": "0"}, false},
		{map[string]string{"OMPI_COMM_WORLD_RANK": "3"}, true},
		{map[string]string{"PMIX_RANK": "1"}, true},
		{map[string]string{"PMIX_RANK": "0"}, false},
	} {
		var b strings.Builder
		if got := rankOutput(func(k string) string { return tc.vars[k] }, &b) != &b; got != tc.quiet {
			t.Errorf("%v: quiet %v, want %v", tc.vars, got, tc.quiet)
		}
	}
}

// TestShareCores: an unbound rank of an MPI job with GOMAXPROCS unset
// computes on its share of the cores; a set GOMAXPROCS, a one-rank job or
// no MPI launcher leaves GOMAXPROCS alone.
func TestShareCores(t *testing.T) {
	all := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(all)
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, vars := range []map[string]string{{}, {"OMPI_COMM_WORLD_LOCAL_SIZE": "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE": "2", "GOMAXPROCS": "7"}} {
		if n := shareCores(env(vars)); n != all || runtime.GOMAXPROCS(0) != all {
			t.Errorf("%v: %d cores (GOMAXPROCS %d), want all %d kept", vars, n, runtime.GOMAXPROCS(0), all)
		}
	}
	if all < runtime.NumCPU() {
		t.Skipf("this process may use %d of %d CPUs (bound): shareCores keeps a binding", all, runtime.NumCPU())
	}
	want := max(1, all/2)
	if n := shareCores(env(map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "2"})); n != want || runtime.GOMAXPROCS(0) != want {
		t.Errorf("2 local ranks: %d cores (GOMAXPROCS %d), want %d", n, runtime.GOMAXPROCS(0), want)
	}
}
