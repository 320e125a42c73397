package losses

// What these tests catch (each mutation was made once and failed the test
// named):
//   - the sequence-level balance loss computed over the whole batch, so that
//     seq_aux_loss and the batch aux loss agree: TestSeqLoadBalancingValues
//     (a crafted batch where they are 1.3 and 1.05).
//   - f divided by a fixed count rather than each sequence's own number of
//     choices: TestLoadBalancingValues, TestLoadBalancingVariableChoices,
//     TestLoadBalancingGradientIsF.

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// countsOf counts the expert choices of every group of per consecutive
// choices: [len(experts)/per, E].
func countsOf(experts []int32, e, per int) []int {
	counts := make([]int, len(experts)/per*e)
	for c, ex := range experts {
		counts[c/per*e+int(ex)]++
	}
	return counts
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.15g, want %.15g", name, got, want)
	}
}

func TestLoadBalancingValues(t *testing.T) {
	tests := []struct {
		name    string
		probs   []float64 // [N, E]
		n, e, k int
		experts []int32
		coeff   float64
		want    float64
	}{
		// f = [2/2, 0/2] = [1, 0]; P = [(0.75+0.5)/2, (0.25+0.5)/2] = [0.625, 0.375];
		// 0.1 * 2 * (1*0.625 + 0*0.375) = 0.125.
		{"top-1", []float64{0.75, 0.25, 0.5, 0.5}, 2, 2, 1, []int32{0, 0}, 0.1, 0.125},
		// f = [1/4, 2/4, 1/4]; P = [0.3, 0.45, 0.25];
		// 1 * 3 * (0.075 + 0.225 + 0.0625) = 3 * 0.3625 = 1.0875.
		{"top-2", []float64{0.5, 0.3, 0.2, 0.1, 0.6, 0.3}, 2, 3, 2, []int32{0, 1, 1, 2}, 1, 1.0875},
		// Uniform probs and loads: f_i = P_i = 1/4, 0.01 * 4 * 4 * (1/16) = 0.01.
		{"balanced", []float64{0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25}, 2, 4, 2, []int32{0, 1, 2, 3}, 0.01, 0.01},
		// Collapsed: f = [1, 0, 0, 0], P = [1, 0, 0, 0]: 0.01 * 4 * 1 = 0.04 (coeff * E).
		{"collapsed", []float64{1, 0, 0, 0}, 1, 4, 1, []int32{0}, 0.01, 0.04},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, dt := range []autograd.DType{autograd.Float64, autograd.Float32} {
				probs := autograd.FromSlice(tc.probs, tc.n, tc.e)
				if dt == autograd.Float32 {
					probs = autograd.ToFloat32(probs)
				}
				got := LoadBalancing(autograd.NewNoGradTape(), probs, countsOf(tc.experts, tc.e, len(tc.experts)), tc.coeff)
				near(t, dt.String(), got.Item(), tc.want, 1e-6*math.Max(1, tc.want))
			}
		})
	}
}

func TestSeqLoadBalancingValues(t *testing.T) {
	// Two sequences of two tokens, E = 2, K = 1, coeff 1.
	// Sequence 0: tokens [0.9, 0.1], [0.7, 0.3], both to expert 0:
	//   f = [1, 0], P = [0.8, 0.2], sum f*P = 0.8.
	// Sequence 1: tokens [0.2, 0.8], [0.4, 0.6], to experts 1 and 0:
	//   f = [0.5, 0.5], P = [0.3, 0.7], sum f*P = 0.15 + 0.35 = 0.5.
	// Seq LB = 1 * 2 * (0.8 + 0.5) / 2 = 1.3.
	// The batch-level loss differs: f = [3/4, 1/4], P = [0.55, 0.45],
	// 2 * (0.4125 + 0.1125) = 1.05.
	probs := autograd.FromSlice([]float64{0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6}, 4, 2)
	experts := []int32{0, 0, 1, 0}
	tp := autograd.NewNoGradTape()
	near(t, "SeqLoadBalancing", SeqLoadBalancing(tp, probs, countsOf(experts, 2, 2), 2, 1).Item(), 1.3, 1e-12)
	near(t, "LoadBalancing", LoadBalancing(tp, probs, countsOf(experts, 2, 4), 1).Item(), 1.05, 1e-12)
	// One sequence spanning the batch is the batch-level loss.
	near(t, "SeqLoadBalancing(seqLen=N)", SeqLoadBalancing(tp, probs, countsOf(experts, 2, 4), 4, 1).Item(), 1.05, 1e-12)
}

func TestLoadBalancingVariableChoices(t *testing.T) {
	// f is each sequence's counts over their own sum, whatever the number
	// of choices per token. Sequence 0 (tokens 0-1) made 3 choices, counts
	// [2, 1]: f = [2/3, 1/3], P = [0.8, 0.2], sum f*P = 0.6. Sequence 1 made
	// none and adds 0. coeff 1, E = 2: 2 * (0.6 + 0) / 2 = 0.6.
	probs := autograd.FromSlice([]float64{0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6}, 4, 2)
	tp := autograd.NewNoGradTape()
	near(t, "SeqLoadBalancing", SeqLoadBalancing(tp, probs, []int{2, 1, 0, 0}, 2, 1).Item(), 0.6, 1e-12)
	// Batch: counts [2, 1], f = [2/3, 1/3], P = [0.55, 0.45]: 2 * (0.55*2/3 + 0.45/3) = 1.03333.
	near(t, "LoadBalancing", LoadBalancing(tp, probs, []int{2, 1}, 1).Item(), 2*(0.55*2+0.45)/3, 1e-12)
}

func TestZLossValues(t *testing.T) {
	// Row 0: logsumexp(0, 0) = ln 2. Row 1: logsumexp(0, ln 3) = ln 4 = 2 ln 2.
	// mean(ln²2, 4 ln²2) = 2.5 ln²2; times coeff 0.5 = 1.25 ln²2 = 0.600566...
	logits := autograd.FromSlice([]float64{0, 0, 0, math.Log(3)}, 2, 2)
	want := 1.25 * math.Ln2 * math.Ln2
	near(t, "ZLoss", ZLoss(autograd.NewNoGradTape(), logits, 0.5).Item(), want, 1e-12)
	near(t, "ZLoss float32", ZLoss(autograd.NewNoGradTape(), autograd.ToFloat32(logits), 0.5).Item(), want, 1e-6)
}

func TestCrossEntropyValues(t *testing.T) {
	// Row 0: logits [0, ln 3], target 1: -ln(3/4) = ln(4/3).
	// Row 1: logits [0, 0], target 0: ln 2. Row 2 is ignored.
	// Mean over the two counted rows: (ln(4/3) + ln 2) / 2.
	logits := autograd.FromSlice([]float64{0, math.Log(3), 0, 0, 5, -5}, 3, 2)
	got := CrossEntropy(autograd.NewNoGradTape(), logits, []int32{1, 0, -100}, -100)
	near(t, "CrossEntropy", got.Item(), (math.Log(4.0/3)+math.Ln2)/2, 1e-12)
}

func TestLossGradients(t *testing.T) {
	const n, e, k, seqLen = 12, 5, 2, 4
	rng := rand.New(rand.NewPCG(3, 4))
	experts := make([]int32, n*k)
	for i := range experts {
		experts[i] = int32(rng.IntN(e))
	}
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(rng.IntN(e))
	}
	targets[3] = -1
	tests := []struct {
		name string
		f    autograd.GradFunc
	}{
		{"LoadBalancing", func(tp *autograd.Tape, in []*autograd.Tensor) *autograd.Tensor {
			return LoadBalancing(tp, tp.Softmax(in[0]), countsOf(experts, e, n*k), 0.3)
		}},
		{"SeqLoadBalancing", func(tp *autograd.Tape, in []*autograd.Tensor) *autograd.Tensor {
			return SeqLoadBalancing(tp, tp.Softmax(in[0]), countsOf(experts, e, seqLen*k), seqLen, 0.3)
		}},
		{"ZLoss", func(tp *autograd.Tape, in []*autograd.Tensor) *autograd.Tensor {
			return ZLoss(tp, in[0], 0.3)
		}},
		{"CrossEntropy", func(tp *autograd.Tape, in []*autograd.Tensor) *autograd.Tensor {
			return CrossEntropy(tp, in[0], targets, -1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logits := autograd.RandN(rng, 1.5, n, e)
			logits.SetRequiresGrad(true)
			rel, err := autograd.GradCheck(tc.f, []*autograd.Tensor{logits}, 1e-6)
			if err != nil {
				t.Fatal(err)
			}
			if rel > 1e-6 {
				t.Errorf("float64 gradient relative error %.3g > 1e-6", rel)
			}
			rel32, err := autograd.GradCheck32(tc.f, []*autograd.Tensor{logits})
			if err != nil {
				t.Fatal(err)
			}
			if rel32 > 1e-4 {
				t.Errorf("float32 vs float64 relative error %.3g > 1e-4", rel32)
			}
			t.Logf("float64 %.2g, float32 %.2g", rel, rel32)
		})
	}
}

func TestLoadBalancingGradientIsF(t *testing.T) {
	// d LB / d probs[t, i] = coeff * E * f_i / N: the gradient pushes the
	// probability mass away from overloaded experts.
	probs := autograd.FromSlice([]float64{0.5, 0.3, 0.2, 0.1, 0.6, 0.3}, 2, 3)
	probs.SetRequiresGrad(true)
	tp := autograd.NewTape()
	loss := LoadBalancing(tp, probs, []int{1, 2, 1}, 1)
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	f := []float64{0.25, 0.5, 0.25}
	for i := 0; i < 6; i++ {
		near(t, "gradient", probs.GradAt(i), 3*f[i%3]/2, 1e-12)
	}
}

func TestLossPanics(t *testing.T) {
	probs := autograd.New(autograd.Float64, 4, 3)
	tests := []struct {
		name string
		run  func(tp *autograd.Tape)
	}{
		{"counts length", func(tp *autograd.Tape) { LoadBalancing(tp, probs, []int{1, 2}, 1) }},
		{"negative count", func(tp *autograd.Tape) { LoadBalancing(tp, probs, []int{1, 4, -1}, 1) }},
		{"per-sequence counts length", func(tp *autograd.Tape) { SeqLoadBalancing(tp, probs, []int{1, 1, 0}, 2, 1) }},
		{"probs 1-D", func(tp *autograd.Tape) { LoadBalancing(tp, autograd.New(autograd.Float64, 4), []int{1, 2, 1}, 1) }},
		{"no tokens", func(tp *autograd.Tape) { LoadBalancing(tp, autograd.New(autograd.Float64, 0, 3), []int{0, 0, 0}, 1) }},
		{"seqLen does not divide", func(tp *autograd.Tape) { SeqLoadBalancing(tp, probs, []int{1, 2, 1}, 3, 1) }},
		{"seqLen zero", func(tp *autograd.Tape) { SeqLoadBalancing(tp, probs, []int{1, 2, 1}, 0, 1) }},
		{"z-loss 1-D", func(tp *autograd.Tape) { ZLoss(tp, autograd.New(autograd.Float64, 4), 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.run(autograd.NewNoGradTape())
		})
	}
}
