//go:build mpi

// Mutations caught: dropping the watchdog's time.AfterFunc in expire makes
// the hang case fail (the job outlives mpiFaultTimeout plus slack and the
// driver's deadline kills it); naming no peers in expire makes the hang case
// fail (the output lacks "rank(s) [1]"); any failing conformance check on
// any rank makes the np=2 or np=4 case fail through mpirun's exit status.
package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// mpirunJob runs this test binary under mpirun with np processes, the test
// selected by run and the fault by fault (empty for none), and returns its
// combined output, exit status and wall time.
func mpirunJob(t *testing.T, np int, run, fault string, limit time.Duration) (string, int, time.Duration) {
	t.Helper()
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("the mpi build needs mpirun on PATH (Debian: apt-get install openmpi-bin): %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	args := []string{"--allow-run-as-root", "--oversubscribe", "-np", fmt.Sprint(np), exe, "-test.run", run, "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(ctx, mpirun, args...)
	cmd.Env = append(os.Environ(), mpiFaultEnv+"="+fault)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("mpirun -np %d %s (fault %q) did not end within %v:\n%s", np, run, fault, limit, out)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0, took
	case errors.As(err, &ee):
		return string(out), ee.ExitCode(), took
	}
	t.Fatalf("running mpirun: %v", err)
	return "", 0, 0
}

// TestMPIUnderMpirun launches the conformance suite under mpirun at 2 and 4
// processes (and, at 2, TestMPIPollYields), then the fault jobs: a hung rank must get the job aborted by
// the watchdog within the timeout plus a little, naming the rank, and a
// killed rank must get it ended by mpirun within seconds, naming the rank.
func TestMPIUnderMpirun(t *testing.T) {
	if os.Getenv("OMPI_COMM_WORLD_SIZE") != "" {
		t.Skip("already under mpirun")
	}
	for _, np := range []int{2, 4} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			out, rc, took := mpirunJob(t, np, "^(TestMPI|TestMPIPollYields)$", "", 5*time.Minute)
			if rc != 0 || strings.Count(out, "--- PASS: TestMPI ") != np || strings.Contains(out, "--- FAIL") {
				t.Fatalf("mpirun -np %d: exit status %d after %v, want 0 and %d passing ranks:\n%s", np, rc, took, np, out)
			}
			t.Logf("np=%d: the suite passed on every rank in %v", np, took.Round(time.Millisecond))
			for line := range strings.Lines(out) {
				if strings.HasPrefix(line, "poll cost:") {
					t.Log(strings.TrimSpace(line))
				}
			}
		})
	}
	t.Run("hang", func(t *testing.T) {
		// Startup of the job and of MPI take about half a second here; the
		// slack covers a loaded machine.
		const slack = 10 * time.Second
		out, rc, took := mpirunJob(t, 2, "^TestMPIFault$", "hang", time.Minute)
		for _, want := range []string{"fault check passed on rank 0", "rank(s) [1] did not join", "MPI_Abort"} {
			if !strings.Contains(out, want) {
				t.Errorf("the hang job's output lacks %q", want)
			}
		}
		if rc == 0 || took > mpiFaultTimeout+time.Second+slack {
			t.Errorf("the hang job ended with status %d after %v, want non-zero within %v", rc, took, mpiFaultTimeout+time.Second+slack)
		}
		if t.Failed() {
			t.Logf("output:\n%s", out)
		}
		t.Logf("hung rank: job aborted with status %d after %v (timeout %v)", rc, took.Round(time.Millisecond), mpiFaultTimeout)
	})
	t.Run("kill", func(t *testing.T) {
		const within = 15 * time.Second
		out, rc, took := mpirunJob(t, 2, "^TestMPIFault$", "kill", time.Minute)
		if !strings.Contains(out, "rank 1") || !strings.Contains(out, "signal 9") {
			t.Errorf("the kill job's output does not name rank 1 and signal 9:\n%s", out)
		}
		if rc == 0 || took > within {
			t.Errorf("the kill job ended with status %d after %v, want non-zero within %v:\n%s", rc, took, within, out)
		}
		t.Logf("killed rank: job ended with status %d after %v", rc, took.Round(time.Millisecond))
	})
}
