package optim

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// mlp is a two-layer classifier: logits = silu(x·W1^T + b1)·W2^T + b2.
type mlp struct {
	w1 *autograd.Tensor // [Hid, In]
	b1 *autograd.Tensor // [Hid]
	w2 *autograd.Tensor // [Cls, Hid]
	b2 *autograd.Tensor // [Cls]
}

func newMLP(rng *rand.Rand, in, hid, cls int) *mlp {
	init := func(name string, std float64, shape ...int) *autograd.Tensor {
		p := autograd.NewParam(autograd.Float32, name, shape...)
		for i := range p.F32() {
			p.F32()[i] = float32(rng.NormFloat64() * std)
		}
		return p
	}
	return &mlp{
		w1: init("fc1.weight", 0.3, hid, in),
		b1: init("fc1.bias", 0, hid),
		w2: init("fc2.weight", 0.2, cls, hid),
		b2: init("fc2.bias", 0, cls),
	}
}

func (m *mlp) params() []*autograd.Tensor { return []*autograd.Tensor{m.w1, m.b1, m.w2, m.b2} }

// loss is the mean cross-entropy of x [N, In] against targets [N].
func (m *mlp) loss(tp *autograd.Tape, x *autograd.Tensor, targets []int32) *autograd.Tensor {
	h := tp.SiLU(tp.Add(tp.MatMul(x, m.w1, false, true), m.b1)) // [N, Hid]
	logits := tp.Add(tp.MatMul(h, m.w2, false, true), m.b2)     // [N, Cls]
	return tp.CrossEntropy(logits, targets, -1)
}

// TestTrainMLPWithoutHeapGrowth trains a small MLP for 1,000 steps with the
// whole toolkit (schedule, clipping, finiteness check, AdamW, ZeroGrad) on a
// reused tape. The task is learnable (labels from a fixed random teacher), so
// the loss must fall; and the live heap after warm-up must not grow, since a
// long run cannot afford a per-step leak.
func TestTrainMLPWithoutHeapGrowth(t *testing.T) {
	const (
		in, hid, cls = 16, 32, 4
		rows, batch  = 512, 64
		steps        = 1000
		warmup       = 50
	)
	rng := rand.New(rand.NewPCG(21, 22))
	data := make([]float32, rows*in) // [rows, In]
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	teacher := make([]float32, cls*in) // [Cls, In]
	for i := range teacher {
		teacher[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, rows) // argmax of teacher·x
	for r := range rows {
		best := float32(-1e30)
		for c := range cls {
			var s float32
			for k := range in {
				s += teacher[c*in+k] * data[r*in+k]
			}
			if s > best {
				best, labels[r] = s, int32(c)
			}
		}
	}

	model := newMLP(rng, in, hid, cls)
	params := model.params()
	opt := mustAdamW(t, params, AdamWConfig{LR: 0, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01})
	if opt.Decays("fc1.bias") || !opt.Decays("fc1.weight") {
		t.Fatal("biases should be exempt from weight decay, weights not")
	}
	sched := Schedule{Decay: DecayCosine, LR: 1e-2, MinLR: 1e-3, WarmupSteps: 50, TotalSteps: steps}
	tp := autograd.NewTape()
	var first, last float64
	var warm, end runtime.MemStats
	for step := range steps {
		lo := (step * batch) % rows
		x := autograd.FromSlice(data[lo*in:(lo+batch)*in], batch, in) // [batch, In]
		loss := model.loss(tp, x, labels[lo:lo+batch])
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		l := loss.Item()
		if step == 0 {
			first = l
		}
		last = 0.99*last + 0.01*l
		if ok, bad := GradsFinite(params); !ok {
			t.Fatalf("step %d: non-finite gradient in %s", step, bad)
		}
		ClipGradNorm(params, 1)
		opt.SetLR(sched.At(opt.Steps()))
		opt.Step()
		ZeroGrad(params)
		tp.Reset()
		if step == warmup {
			runtime.GC()
			runtime.ReadMemStats(&warm)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&end)
	runtime.KeepAlive(tp) // what the run holds must count as live at the end
	runtime.KeepAlive(opt)

	// last is a running mean over roughly the final 100 steps.
	if !(last < 0.25*first) {
		t.Errorf("loss fell from %.4f only to %.4f", first, last)
	}
	const slack = 64 << 10
	if growth := int64(end.HeapAlloc) - int64(warm.HeapAlloc); growth > slack {
		t.Errorf("live heap grew by %d bytes over %d steps (allowed %d)", growth, steps-warmup, slack)
	}
	t.Logf("loss %.4f -> %.4f; live heap %d -> %d bytes", first, last, warm.HeapAlloc, end.HeapAlloc)
}
