package train

// Mutations caught: dropping the LM head term (or the experts' 3·D·F) from EstimateMemory's
// parameter count makes TestEstimateMemoryCountsParams fail; dropping the activation term (or its
// tokens factor) makes TestEstimateMemoryMatchesARun and TestCheckMemoryRefusesWhatCannotFit fail;
// refusing at need > avail/2 instead of need > avail makes TestCheckMemoryUse fail;
// ignoring Frozen or Loaded makes TestCheckMemoryUse fail; reading the MemTotal line instead of
// MemAvailable makes TestParseMemAvailable fail.

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/configs"
)

func loadPreset(t *testing.T, name string, sets ...string) *configs.Config {
	t.Helper()
	c, err := configs.Load(configs.LoadOptions{ConfigRef: name, Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEstimateMemoryCountsParams(t *testing.T) {
	for _, name := range configs.Presets() {
		variants := [][]string{nil}
		if name == "tiny" || name == "hybrid" {
			variants = append(variants, []string{"model.tie_embeddings=true"}, []string{"moe.router.type=noisy_topk"}, []string{"moe.shared_experts=1"})
		}
		for _, sets := range variants {
			c, err := configs.Load(configs.LoadOptions{ConfigRef: name, Sets: sets})
			if err != nil {
				continue // a combination the preset's shape does not allow
			}
			m, err := NewModel(c)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := EstimateMemory(c).Params, int64(m.NumParams()); got != want {
				t.Errorf("%s %v: estimate counts %d parameters, the model has %d", name, sets, got, want)
			}
		}
	}
}

// peakRSS returns VmHWM of this process in bytes, or 0 where it cannot be read.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 {
				return kb << 10
			}
		}
	}
	return 0
}

// TestEstimateMemoryMatchesARun trains the tiny preset for a few steps and compares the estimate
// with the process's peak resident memory: within a factor of 1.6 either way.
func TestEstimateMemoryMatchesARun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident memory: %v", err)
	}
	c := loadPreset(t, "tiny", "train.steps=4", "train.checkpoint_every=0", "train.eval_every=0", "data.val_fraction=0")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: ds.TrainBatches(c)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	peak := peakRSS()
	if peak == 0 {
		t.Skip("no VmHWM in /proc/self/status")
	}
	est := EstimateMemory(c).Total()
	t.Logf("tiny: estimate %s, measured peak RSS %s", humanBytes(est), humanBytes(peak))
	if r := float64(est) / float64(peak); r < 1/1.6 || r > 1.6 {
		t.Errorf("estimate %s is %.2f times the measured peak %s", humanBytes(est), r, humanBytes(peak))
	}
}

func TestCheckMemoryPassesPresets(t *testing.T) {
	for _, name := range configs.Presets() {
		c := loadPreset(t, name)
		if err := checkMemoryAgainst(c, MemoryUse{}, 24<<30); err != nil {
			t.Errorf("preset %s refused on a 24 GiB machine: %v", name, err)
		}
	}
}

func TestCheckMemoryRefusesWhatCannotFit(t *testing.T) {
	for _, tc := range []struct {
		sets  []string
		wants []string
	}{
		{[]string{"train.micro_batch_size=100000"}, []string{"needs about", "available", "train.micro_batch_size (now 100000)", "train.seq_len"}},
		{[]string{"model.d_model=65536", "model.n_layers=64"}, []string{"needs about", "parameters dominate", "model.d_model 65536", "model.n_layers 64"}},
	} {
		c := loadPreset(t, "tiny", tc.sets...)
		err := checkMemoryAgainst(c, MemoryUse{}, 24<<30)
		if err == nil {
			t.Errorf("%v: accepted on a 24 GiB machine (estimate %s)", tc.sets, humanBytes(EstimateMemory(c).Total()))
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not contain %q", tc.sets, err, w)
			}
		}
	}
	// a hand-built configuration far beyond the bounds still gives a finite, refused estimate
	c := configs.Default()
	c.Model.VocabSize, c.Model.DModel, c.Train.MicroBatchSize = 1<<40, 1<<40, 1<<40
	if est := EstimateMemory(c); est.Total() <= 0 || est.Weights <= 0 {
		t.Errorf("estimate of huge sizes overflowed: %+v", est)
	}
}

func TestCheckMemoryUse(t *testing.T) {
	c := loadPreset(t, "small")
	est := EstimateMemory(c)
	full := est.Total()
	frozen := full - est.Gradients - est.Optimizer
	loaded := full - est.Weights
	for _, tc := range []struct {
		use  MemoryUse
		need int64
	}{{MemoryUse{}, full}, {MemoryUse{Frozen: true}, frozen}, {MemoryUse{Loaded: true}, loaded}, {MemoryUse{Frozen: true, Loaded: true}, frozen - est.Weights}} {
		if err := checkMemoryAgainst(c, tc.use, tc.need); err != nil {
			t.Errorf("%+v: refused with exactly the memory it needs: %v", tc.use, err)
		}
		if err := checkMemoryAgainst(c, tc.use, tc.need-1); err == nil {
			t.Errorf("%+v: accepted with one byte less than it needs", tc.use)
		}
	}
}

func TestParseMemAvailable(t *testing.T) {
	good := "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\nBuffers: 5 kB\n"
	if n, ok := parseMemAvailable([]byte(good)); !ok || n != 20000000<<10 {
		t.Errorf("parse = %d, %v; want %d", n, ok, int64(20000000)<<10)
	}
	for _, bad := range []string{"", "MemTotal: 5 kB\n", "MemAvailable: lots kB\n", "MemAvailable: 5 MB\n", "MemAvailable: -5 kB\n", "MemAvailable: 99999999999999999999 kB\n"} {
		if n, ok := parseMemAvailable([]byte(bad)); ok {
			t.Errorf("parse(%q) = %d, true; want not ok", bad, n)
		}
	}
	if n, ok := MemAvailable(); ok && n <= 0 {
		t.Errorf("MemAvailable = %d on this machine", n)
	}
}

// TestCheckMemoryLocalRanks: the local backend holds every rank in this
// process, so a world of 3 needs three times one rank's memory; an MPI rank
// needs its own only.
func TestCheckMemoryLocalRanks(t *testing.T) {
	c := loadPreset(t, "small")
	one := EstimateMemory(c).Total()
	c.Parallel.WorldSize = 3
	if err := checkMemoryAgainst(c, MemoryUse{}, 3*one); err != nil {
		t.Errorf("refused with exactly the memory of 3 local ranks: %v", err)
	}
	err := checkMemoryAgainst(c, MemoryUse{}, 3*one-1)
	if err == nil || !strings.Contains(err.Error(), "for each of 3 ranks") || !strings.Contains(err.Error(), "mpi backend") {
		t.Errorf("with one byte less than 3 local ranks need: %v", err)
	}
	c.Parallel.Backend = configs.BackendMPI
	if err := checkMemoryAgainst(c, MemoryUse{}, one); err != nil {
		t.Errorf("an MPI rank refused with its own memory: %v", err)
	}
}
