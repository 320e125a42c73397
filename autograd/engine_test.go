package autograd

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two engines in one process keep their own GEMM accounting, cores and
// helpers: what ranks running as goroutines rely on.
func TestEnginesAreIndependent(t *testing.T) {
	t.Parallel()
	one, two := NewEngine(EngineOptions{Cores: 2}), NewEngine(EngineOptions{Cores: 1})
	defer one.Close()
	defer two.Close()
	if one.Cores() != 2 || two.Cores() != 1 {
		t.Fatalf("cores %d and %d, want 2 and 1", one.Cores(), two.Cores())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := ToFloat32(RandN(rng, 1, 64, 48)), ToFloat32(RandN(rng, 1, 48, 80))
	one.StartGEMMAccounting()
	two.StartGEMMAccounting()
	NewNoGradTapeOn(one).MatMul(a, b, false, false)
	if got := two.StopGEMMAccounting(); got.Calls != 0 {
		t.Fatalf("a GEMM on one engine was counted on the other: %+v", got)
	}
	if got := one.StopGEMMAccounting(); got.Calls != 1 {
		t.Fatalf("engine counted %d GEMMs, want 1", got.Calls)
	}
	if tp := NewTapeOn(two); tp.Engine() != two || !tp.Recording() {
		t.Fatal("NewTapeOn: tape not bound to its engine")
	}
	if NewTape().Engine() != DefaultEngine() {
		t.Fatal("NewTape: not on the default engine")
	}
}

// An engine of one core runs every split on the caller, and an engine of
// several splits across goroutines even when GOMAXPROCS is 1.
func TestEngineCoresDecideTheSplit(t *testing.T) {
	for _, cores := range []int{1, 3} {
		e := NewEngine(EngineOptions{Cores: cores})
		var calls atomic.Int32
		e.SplitRange(300, 300, RangeFunc(func(lo, hi int) { calls.Add(1) }))
		if cores == 1 && calls.Load() != 1 {
			t.Errorf("one core: %d calls, want 1", calls.Load())
		}
		if cores > 1 && calls.Load() != 300 {
			t.Errorf("%d cores: %d calls, want 300", cores, calls.Load())
		}
		c := &countRanger{hits: make([]atomic.Int32, 1000)}
		e.SplitRange(1000, 7, c)
		c.check(t, "engine split")
		e.Close()
	}
}

// Close ends the helpers, and the engine starts them again when needed.
func TestEngineCloseStopsHelpers(t *testing.T) {
	before := runtime.NumGoroutine()
	e := NewEngine(EngineOptions{Cores: 4})
	c := &countRanger{hits: make([]atomic.Int32, 100)}
	e.SplitRange(100, 4, c)
	c.check(t, "first")
	if n := runtime.NumGoroutine(); n < before+3 {
		t.Fatalf("%d goroutines after a split on 4 cores, want at least %d", n, before+3)
	}
	e.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, want %d", n, before)
	}
	e.SplitRange(100, 4, c)
	c.check(t, "after Close")
	e.Close()
}

// Tapes on separate engines train side by side with the results of one
// tape alone: nothing of one leaks into the other (run under -race).
func TestEnginesConcurrentTapesMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, w := ToFloat32(RandN(rng, 1, 96, 64)), ToFloat32(RandN(rng, 1, 64, 64))
	w.SetRequiresGrad(true)
	run := func(e *Engine) []float32 {
		tp := NewTapeOn(e)
		y := tp.Softmax(tp.MatMul(x, w, false, true)) // [96, 64]
		loss := tp.Sum(tp.Mul(y, y))
		if err := tp.Backward(loss); err != nil {
			t.Error(err)
		}
		out := append([]float32(nil), y.F32()...)
		tp.Reset()
		return out
	}
	want := run(NewEngine(EngineOptions{Cores: 1}))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := NewEngine(EngineOptions{Cores: 1 + g%2, PoisonDirty: true})
			defer e.Close()
			for range 5 {
				got := run(e)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("engine %d: output %d = %v, want %v", g, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// cube is a custom op built outside the op set: y = c·x³ elementwise, with
// backward dx += 3c·x²·dy (or a deliberately wrong rule when broken).
func cube[T Float](tp *Tape, x *Tensor, c T, broken bool) *Tensor {
	out := tp.Alloc(x.DType(), x.Shape()...)
	xv, yv := Values[T](x), Values[T](out)
	for i, v := range xv {
		yv[i] = c * v * v * v
	}
	tp.Record("Cube", out, func() {
		dy, dx := Grads[T](out), GradOf[T](tp, x)
		for i, v := range xv {
			d := 3 * c * v * v
			if broken {
				d = 2 * c * v * v
			}
			dx[i] += d * dy[i]
		}
	}, x)
	return out
}

func TestCustomOpGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	x := RandN(rng, 1, 4, 5)
	x.SetRequiresGrad(true)
	for _, broken := range []bool{false, true} {
		worst, err := GradCheck(func(tp *Tape, in []*Tensor) *Tensor {
			return tp.Mul(cube(tp, in[0], 0.5, broken), in[0]) // the custom op among built-in ones
		}, []*Tensor{x}, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		if !broken && worst > 1e-7 {
			t.Fatalf("custom op: relative gradient error %.3g", worst)
		}
		if broken && worst < 1e-2 {
			t.Fatalf("a wrong custom backward passed the check (error %.3g)", worst)
		}
	}
}

func TestRecordNamesOpsAndKeepsInputs(t *testing.T) {
	tp := NewTape()
	a := NewParam(Float32, "a", 2, 3)
	b := New(Float32, 2, 3)
	y := tp.Add(tp.Mul(a, b), cube[float32](tp, a, 1, false))
	parts := []*Tensor{y, a, b, y, a} // five inputs: past the inline three
	out := tp.Alloc(Float32, 2, 3)
	if !tp.Record("Five", out, func() {}, parts...) {
		t.Fatal("Record with an input that requires grad did not record")
	}
	if tp.Record("None", tp.Alloc(Float32, 1), func() {}, b) {
		t.Fatal("Record recorded an op none of whose inputs requires grad")
	}
	want := []string{"Mul", "Cube", "Add", "Five"}
	if got := tp.Ops(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ops %v, want %v", got, want)
	}
	var seen []*Tensor
	tp.records[3].inputs(func(_ int, x *Tensor) { seen = append(seen, x) })
	if len(seen) != 5 || seen[3] != y || seen[4] != a {
		t.Fatalf("record kept %d inputs, want the five passed", len(seen))
	}
	if NewNoGradTape().Record("X", out, func() {}, a) {
		t.Fatal("a no-grad tape recorded")
	}
}

func TestCheckFiniteNamesTheOp(t *testing.T) {
	w := NewParam(Float64, "layers.0.w", 3)
	for i := range 3 {
		w.Set(i, float64(i)) // w[0] = 0: the gradient of x³·(1/x) style ops below blows up there
	}
	build := func(tp *Tape) *Tensor {
		out := tp.Alloc(Float64, 3)
		wv, ov := w.F64(), out.F64()
		for i, v := range wv {
			ov[i] = math.Sqrt(v)
		}
		tp.Record("Sqrt", out, func() {
			dy, dx := Grads[float64](out), GradOf[float64](tp, w)
			for i, v := range wv {
				dx[i] += dy[i] / (2 * math.Sqrt(v)) // Inf at v = 0
			}
		}, w)
		return tp.Sum(tp.Scale(out, 2))
	}
	tp := NewTape()
	if err := tp.Backward(build(tp)); err != nil {
		t.Fatalf("without CheckFinite: %v", err)
	}
	w.ZeroGrad()
	tp = NewTape()
	tp.CheckFinite(true)
	err := tp.Backward(build(tp))
	if err == nil {
		t.Fatal("CheckFinite: an infinite gradient passed")
	}
	for _, part := range []string{"op Sqrt", "record 1 of 3", "layers.0.w", "+Inf", "element 0"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
}

func TestProfileTimesEveryRecordedOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := ToFloat32(RandN(rng, 1, 64, 64))
	x.SetRequiresGrad(true)
	tp := NewTape()
	if tp.StopProfile() != nil {
		t.Fatal("a profile without StartProfile")
	}
	tp.StartProfile()
	y := tp.Softmax(tp.MatMul(x, x, false, true))
	y = tp.Softmax(y)
	if err := tp.Backward(tp.Sum(y)); err != nil {
		t.Fatal(err)
	}
	prof := tp.StopProfile()
	calls := map[string]int{}
	for _, p := range prof {
		calls[p.Op] = p.Calls
		if p.Backward <= 0 {
			t.Errorf("%s: backward time %v", p.Op, p.Backward)
		}
	}
	if calls["MatMul"] != 1 || calls["Softmax"] != 2 || calls["Sum"] != 1 || len(calls) != 3 {
		t.Fatalf("profile calls %v, want MatMul 1, Softmax 2, Sum 1", calls)
	}
}

func TestFMAPeak(t *testing.T) {
	e := NewEngine(EngineOptions{Cores: 1})
	defer e.Close()
	p := e.FMAPeak(context.Background(), 5*time.Millisecond)
	if !hasFMAPeakKernel() {
		t.Skip("no vector FMA kernel for this CPU (AVX-512 absent): FMAPeak reports 0, checked")
	}
	if !(p > 0) {
		t.Fatalf("FMA peak %v GFLOP/s", p)
	}
}
