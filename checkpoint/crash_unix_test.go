//go:build unix

package checkpoint

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// crashEnv carries the run directory to the child process of
// TestSaveSurvivesKill.
const crashEnv = "MOETRAIN_CHECKPOINT_CRASH_RUN"

// TestCrashChild is the child process of TestSaveSurvivesKill: it saves
// checkpoints in a loop until it is killed. Run on its own it skips.
func TestCrashChild(t *testing.T) {
	run := os.Getenv(crashEnv)
	if run == "" {
		t.Skip("helper process for TestSaveSurvivesKill")
	}
	const n = 1 << 16 // 256 KiB of float32 per tensor
	ck := &Checkpoint{
		Model: map[string]*autograd.Tensor{
			"embed.weight": autograd.New(autograd.Float32, n),
			"head.weight":  autograd.New(autograd.Float32, n/2, 2),
		},
		Optimizer: map[string]*autograd.Tensor{
			"exp_avg.embed.weight":    autograd.New(autograd.Float32, n),
			"exp_avg_sq.embed.weight": autograd.New(autograd.Float32, n),
		},
		Config:  "model: {d_model: 8}\n",
		Metrics: Metrics{},
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		for _, m := range []map[string]*autograd.Tensor{ck.Model, ck.Optimizer} {
			for _, x := range m {
				for j := range x.F32() {
					x.F32()[j] = float32(i)
				}
			}
		}
		ck.Metrics["iter"] = float64(i)
		// Steps cycle, so saves also replace existing step directories.
		if _, err := Save(run, 1+i%5, ck); err != nil {
			t.Fatal(err)
		}
		if _, err := Prune(run, 3); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed within 30s")
}

// TestSaveSurvivesKill SIGKILLs a process that is saving checkpoints at
// assorted moments and checks that latest always names a complete,
// checksum-valid checkpoint whose files belong together, that every visible
// step directory is complete, and that the next Save clears the debris.
// (A killed process's writes still reach the page cache; power loss is
// what the fsyncs are for, and is beyond a test.)
func TestSaveSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	base := []time.Duration{0, 2 * time.Millisecond, 7 * time.Millisecond, 19 * time.Millisecond,
		43 * time.Millisecond, 97 * time.Millisecond, 211 * time.Millisecond, 401 * time.Millisecond}
	debrisSeen := 0
	for _, d := range base {
		delay := d + time.Duration(rng.Int64N(int64(d)+int64(time.Millisecond)))
		run := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+run)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		latest := filepath.Join(run, "checkpoints", "latest")
		if err := waitFor(latest, exited, 20*time.Second); err != nil {
			cmd.Process.Kill()
			t.Fatalf("child: %v\n%s", err, out.String())
		}
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err := <-exited
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child ended on its own (%v), not by the kill:\n%s", err, out.String())
		}

		dir, err := Resolve(run)
		if err != nil {
			t.Fatalf("kill after %v: %v", delay, err)
		}
		ck, err := Load(dir)
		if err != nil {
			t.Fatalf("kill after %v: latest does not load: %v", delay, err)
		}
		iter := ck.Metrics["iter"]
		if ck.Step != 1+int(iter)%5 {
			t.Errorf("kill after %v: step %d does not belong to iteration %v", delay, ck.Step, iter)
		}
		for name, x := range ck.Model {
			if x.At(0) != iter || x.At(x.Len()-1) != iter {
				t.Errorf("kill after %v: model tensor %s from another save than the manifest (iteration %v)", delay, name, iter)
			}
		}
		for name, x := range ck.Optimizer {
			if x.At(x.Len()/2) != iter {
				t.Errorf("kill after %v: optimizer tensor %s from another save than the manifest", delay, name)
			}
		}
		ckDir := filepath.Join(run, "checkpoints")
		steps, err := listSteps(ckDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if err := Verify(filepath.Join(ckDir, s.name)); err != nil {
				t.Errorf("kill after %v: visible step directory incomplete: %v", delay, err)
			}
		}
		debris := countDebris(t, ckDir)
		debrisSeen += debris
		t.Logf("killed after %v at iteration %v with %d debris entries", delay, iter, debris)

		// The next save clears the debris and becomes latest.
		if _, err := Save(run, 99, sampleCheckpoint(t, 99)); err != nil {
			t.Fatal(err)
		}
		if n := countDebris(t, ckDir); n != 0 {
			t.Errorf("%d debris entries survive the next save", n)
		}
		if dir, err := Resolve(run); err != nil || filepath.Base(dir) != "step-00000099" {
			t.Errorf("after recovery Resolve = %s, %v", dir, err)
		}
	}
	t.Logf("debris entries seen over all kills: %d", debrisSeen)
}

// waitFor polls until path exists, failing if the child exits or time runs out.
func waitFor(path string, exited <-chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return errors.Join(errors.New("exited before its first save"), err)
		case <-time.After(time.Millisecond):
		}
	}
	return errors.New("no checkpoint within " + limit.String())
}

// countDebris counts temporary entries in a checkpoints directory.
func countDebris(t *testing.T, ckDir string) int {
	t.Helper()
	des, err := os.ReadDir(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			n++
		}
	}
	return n
}
