package train

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// Two trainers in one process, each on an engine of its own, train side by
// side exactly as one trainer alone does, and each engine sees only its own
// trainer's GEMMs: Options.Engine reaches the training tape, the evaluation
// tape and the optimizer (run under -race).
func TestTrainersOnOwnEngines(t *testing.T) {
	c := testConfig(t, "train.steps=4", "train.eval_every=0", "train.checkpoint_every=0")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	run := func(e *autograd.Engine) []float64 {
		tr, err := New(Options{Config: c, RunDir: t.TempDir(), Train: ds.TrainBatches(c), Engine: e})
		if err != nil {
			t.Error(err)
			return nil
		}
		if tr.tape.Engine() != e || tr.evalTape.Engine() != e || tr.opt.Engine() != e {
			t.Error("the trainer's tapes or optimizer are not on Options.Engine")
		}
		res, err := tr.Run(context.Background())
		if err != nil {
			t.Error(err)
			return nil
		}
		figures := []float64{res.FinalLoss}
		for _, p := range tr.Model().Params() {
			figures = append(figures, p.At(0), p.At(p.Len()-1))
		}
		return figures
	}
	alone := autograd.NewEngine(autograd.EngineOptions{Cores: 1})
	want := run(alone)
	engines := []*autograd.Engine{autograd.NewEngine(autograd.EngineOptions{Cores: 2}), autograd.NewEngine(autograd.EngineOptions{Cores: 1})}
	idle := autograd.NewEngine(autograd.EngineOptions{})
	idle.StartGEMMAccounting()
	for _, e := range engines {
		e.StartGEMMAccounting()
	}
	got := make([][]float64, len(engines))
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = run(e)
		}()
	}
	wg.Wait()
	for i, e := range engines {
		if acct := e.StopGEMMAccounting(); acct.Calls == 0 {
			t.Errorf("engine %d ran no GEMM of its trainer", i)
		}
		if len(got[i]) != len(want) {
			t.Fatalf("trainer %d: %d figures, want %d", i, len(got[i]), len(want))
		}
		for j := range want {
			if math.Float64bits(got[i][j]) != math.Float64bits(want[j]) {
				t.Errorf("trainer %d: figure %d = %v, alone %v", i, j, got[i][j], want[j])
			}
		}
		e.Close()
	}
	if acct := idle.StopGEMMAccounting(); acct.Calls != 0 {
		t.Errorf("an engine no trainer used counted %d GEMMs", acct.Calls)
	}
}
