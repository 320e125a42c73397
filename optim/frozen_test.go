package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// Frozen parameters (not requiring grad). Mutations tried and the test that
// caught each:
//   - StepScaled updating a slot whose parameter was frozen after the
//     optimizer was built: TestStepSkipsParamFrozenLater.
//   - GradNorm, ClipGradNorm or GradsFinite reading a frozen parameter's
//     leftover gradient (hasLiveGrad returning HasGrad alone):
//     TestGradHelpersIgnoreFrozen.
//   - State carrying moments of parameters the optimizer was not built with:
//     TestStateRoundTripWithFrozen.

// frozen32 returns a float32 parameter holding vals with a gradient g, then
// frozen: a weight whose leftover gradient must be ignored.
func frozen32(name string, vals []float32, g ...float64) *autograd.Tensor {
	p := param32(name, vals...)
	setGrad(p, g...)
	p.SetRequiresGrad(false)
	return p
}

func TestStepSkipsParamFrozenLater(t *testing.T) {
	a, b := param32("a.weight", 1, 2), param32("b.weight", 3, 4)
	o := mustAdamW(t, []*autograd.Tensor{a, b}, DefaultAdamWConfig())
	setGrad(a, 0.5, -0.5)
	setGrad(b, 0.5, -0.5)
	b.SetRequiresGrad(false)
	o.Step()
	if b.F32()[0] != 3 || b.F32()[1] != 4 {
		t.Errorf("frozen b moved to %v", b.F32())
	}
	st := o.State()
	for _, k := range []string{"exp_avg.b.weight", "exp_avg_sq.b.weight"} {
		if st[k].At(0) != 0 || st[k].At(1) != 0 {
			t.Errorf("%s = [%v %v], want zeros", k, st[k].At(0), st[k].At(1))
		}
	}
	if a.F32()[0] == 1 || st["exp_avg.a.weight"].At(0) == 0 {
		t.Errorf("trainable a did not step: %v", a.F32())
	}
}

func TestGradHelpersIgnoreFrozen(t *testing.T) {
	live := param64("live.weight", 0, 0)
	setGrad(live, 3, 4)
	dead := frozen32("dead.weight", []float32{1}, 100)
	params := []*autograd.Tensor{live, dead}
	if n := GradNorm(params); n != 5 {
		t.Errorf("GradNorm = %v, want 5 (the frozen gradient left out)", n)
	}
	setGrad(dead, math.NaN())
	if ok, bad := GradsFinite(params); !ok {
		t.Errorf("GradsFinite flags %s, a frozen parameter", bad)
	}
	setGrad(dead, 100)
	if n := ClipGradNorm(params, 1); n != 5 {
		t.Errorf("ClipGradNorm = %v, want 5", n)
	}
	if g := dead.GradAt(0); g != 100 {
		t.Errorf("ClipGradNorm scaled a frozen gradient to %v", g)
	}
	if g := live.GradAt(0); math.Abs(g-0.6) > 1e-15 {
		t.Errorf("live gradient clipped to %v, want 0.6", g)
	}
}

// TestStateRoundTripWithFrozen: an optimizer over the trainable subset saves
// moments for that subset only, restores them bit for bit into another such
// optimizer, and refuses a state with moments of a parameter frozen here.
func TestStateRoundTripWithFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	build := func() (all, trainable []*autograd.Tensor) {
		r := rand.New(rand.NewPCG(1, 2))
		w, n, e := randParam32(r, "w.weight", 7), randParam32(r, "norm.weight", 3), randParam32(r, "embed.weight", 5)
		e.SetRequiresGrad(false)
		return []*autograd.Tensor{w, n, e}, []*autograd.Tensor{w, n}
	}
	all, tr := build()
	o := mustAdamW(t, tr, DefaultAdamWConfig())
	for range 3 {
		fillGrads32(rng, 0.1, tr...)
		o.Step()
	}
	st := o.State()
	if len(st) != 2*2+1 {
		t.Errorf("state has %d entries, want 5", len(st))
	}
	for k := range st {
		if strings.Contains(k, "embed") {
			t.Errorf("state holds %q of a frozen parameter", k)
		}
	}
	saved := map[string]*autograd.Tensor{}
	for k, v := range st {
		saved[k] = v.Clone()
	}
	_, tr2 := build()
	o2 := mustAdamW(t, tr2, DefaultAdamWConfig())
	if err := o2.LoadState(saved); err != nil {
		t.Fatal(err)
	}
	for k, v := range o2.State() {
		assertBitwise(t, k, v, saved[k])
	}
	if all[2].HasGrad() {
		t.Error("frozen parameter gained a gradient buffer")
	}
	// The same state into an optimizer where norm.weight is frozen.
	r := rand.New(rand.NewPCG(1, 2))
	o3 := mustAdamW(t, []*autograd.Tensor{randParam32(r, "w.weight", 7)}, DefaultAdamWConfig())
	err := o3.LoadState(saved)
	if err == nil || !strings.Contains(err.Error(), `unexpected "exp_avg.norm.weight"`) || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("loading moments of a frozen parameter: %v", err)
	}
}
