package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// trainRun is a deterministic stand-in for training: gradients come from a
// generator seeded by the step number, and the learning rate follows a
// schedule, so a run resumed at any step must repeat the rest exactly.
type trainRun struct {
	params []*autograd.Tensor
	opt    *AdamW
	sched  Schedule
}

func newTrainRun(t *testing.T) *trainRun {
	rng := rand.New(rand.NewPCG(9, 9))
	params := []*autograd.Tensor{
		randParam32(rng, "layers.0.mlp.weight", 2*adamwGrain+3),
		randParam32(rng, "layers.0.norm.weight", 16),
		param64("head.weight", 0.5, -0.25, 2),
	}
	cfg := AdamWConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	return &trainRun{
		params: params,
		opt:    mustAdamW(t, params, cfg),
		sched:  Schedule{Decay: DecayCosine, LR: 1e-2, MinLR: 1e-3, WarmupSteps: 3, TotalSteps: 10},
	}
}

func (r *trainRun) steps(n int) {
	for range n {
		step := r.opt.Steps()
		rng := rand.New(rand.NewPCG(uint64(step), 77))
		fillGrads32(rng, 0.1, r.params[:2]...)
		setGrad(r.params[2], rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64())
		ClipGradNorm(r.params, 1)
		r.opt.SetLR(r.sched.At(step))
		r.opt.Step()
	}
}

// TestStateRoundTripIsBitwise saves after 5 of 12 steps into fresh tensors
// (as a checkpoint would), rebuilds parameters and optimizer from them, and
// requires the resumed run to end bit for bit where the uninterrupted one did.
func TestStateRoundTripIsBitwise(t *testing.T) {
	whole := newTrainRun(t)
	whole.steps(12)

	first := newTrainRun(t)
	first.steps(5)
	saved := map[string]*autograd.Tensor{}
	for k, v := range first.opt.State() {
		saved[k] = v.Clone()
	}
	resumed := newTrainRun(t) // fresh parameters: overwrite them with the saved ones
	for i, p := range resumed.params {
		copyConvert(p, first.params[i].Clone())
	}
	if err := resumed.opt.LoadState(saved); err != nil {
		t.Fatal(err)
	}
	if resumed.opt.Steps() != 5 {
		t.Fatalf("Steps() = %d after loading, want 5", resumed.opt.Steps())
	}
	resumed.steps(7)

	wantState, gotState := whole.opt.State(), resumed.opt.State()
	for i, p := range whole.params {
		assertBitwise(t, p.Name, resumed.params[i], p)
	}
	for k, w := range wantState {
		assertBitwise(t, k, gotState[k], w)
	}
}

func assertBitwise(t *testing.T, what string, got, want *autograd.Tensor) {
	t.Helper()
	for i := 0; i < want.Len(); i++ {
		if math.Float64bits(got.At(i)) != math.Float64bits(want.At(i)) {
			t.Fatalf("%s[%d] = %.17g, want %.17g", what, i, got.At(i), want.At(i))
		}
	}
}

func TestStateKeys(t *testing.T) {
	r := newTrainRun(t)
	r.steps(2)
	st := r.opt.State()
	want := []string{"step", "exp_avg.layers.0.mlp.weight", "exp_avg_sq.layers.0.mlp.weight",
		"exp_avg.layers.0.norm.weight", "exp_avg_sq.layers.0.norm.weight", "exp_avg.head.weight", "exp_avg_sq.head.weight"}
	if len(st) != len(want) {
		t.Errorf("State has %d entries, want %d", len(st), len(want))
	}
	for _, k := range want {
		if st[k] == nil {
			t.Errorf("State lacks %q", k)
		}
	}
	if got := st[StepKey]; got.DType() != autograd.Float64 || got.Item() != 2 {
		t.Errorf("step entry = %v (%v), want float64 2", got.Item(), got.DType())
	}
	if st["exp_avg.head.weight"].DType() != autograd.Float64 || st["exp_avg.layers.0.norm.weight"].DType() != autograd.Float32 {
		t.Error("moments do not carry their parameter's dtype")
	}
}

func TestLoadStateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(st map[string]*autograd.Tensor)
		want string
	}{
		{"missing moment", func(st map[string]*autograd.Tensor) { delete(st, "exp_avg_sq.layers.0.norm.weight") },
			`missing "exp_avg_sq.layers.0.norm.weight"`},
		{"mis-shaped moment", func(st map[string]*autograd.Tensor) { st["exp_avg.head.weight"] = autograd.New(autograd.Float64, 4) },
			`"exp_avg.head.weight" has shape [4], want [3]`},
		{"unexpected entry", func(st map[string]*autograd.Tensor) { st["exp_avg.old.weight"] = autograd.New(autograd.Float32, 1) },
			`unexpected "exp_avg.old.weight"`},
		{"missing step", func(st map[string]*autograd.Tensor) { delete(st, StepKey) }, `missing "step"`},
		{"fractional step", func(st map[string]*autograd.Tensor) { st[StepKey] = autograd.FromSlice([]float64{2.5}, 1) }, `"step" is 2.5`},
		{"negative step", func(st map[string]*autograd.Tensor) { st[StepKey] = autograd.FromSlice([]float64{-1}, 1) }, `"step" is -1`},
		{"step shape", func(st map[string]*autograd.Tensor) { st[StepKey] = autograd.New(autograd.Float64, 2) }, `"step" has shape [2]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newTrainRun(t)
			src.steps(3)
			st := map[string]*autograd.Tensor{}
			for k, v := range src.opt.State() {
				st[k] = v.Clone()
			}
			tc.mod(st)
			dst := newTrainRun(t)
			dst.steps(1)
			before := map[string]*autograd.Tensor{}
			for k, v := range dst.opt.State() {
				before[k] = v.Clone()
			}
			err := dst.opt.LoadState(st)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			for k, v := range dst.opt.State() { // a failed load changes nothing
				assertBitwise(t, k, v, before[k])
			}
		})
	}
}

// TestLoadStateConvertsDType loads float64 moments into a float32 optimizer.
func TestLoadStateConvertsDType(t *testing.T) {
	p := param32("w", 1, 2)
	o := mustAdamW(t, []*autograd.Tensor{p}, DefaultAdamWConfig())
	err := o.LoadState(map[string]*autograd.Tensor{
		"exp_avg.w":    autograd.FromSlice([]float64{0.25, -0.5}, 2),
		"exp_avg_sq.w": autograd.FromSlice([]float64{0.0625, 0.25}, 2),
		StepKey:        autograd.FromSlice([]float64{7}, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	st := o.State()
	if st["exp_avg.w"].F32()[1] != -0.5 || st["exp_avg_sq.w"].F32()[0] != 0.0625 || o.Steps() != 7 {
		t.Errorf("loaded %v, %v, step %d", st["exp_avg.w"].F32(), st["exp_avg_sq.w"].F32(), o.Steps())
	}
}
