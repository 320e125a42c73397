package layers

import (
	"math"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
)

// LoRA is the low-rank adapter of one weight W [Out, In], or of a stack of
// expert weights W [E, Out, In] with an independent adapter per expert. It
// adds s·B(A·drop(x)) to the adapted module's output, dropout applying to
// the adapter's input in training only.
type LoRA struct {
	A       *autograd.Tensor // [R, In], experts [E, R, In]
	B       *autograd.Tensor // [Out, R], experts [E, Out, R]
	Scale   float64          // s
	Dropout float64          // probability in training
}

// newLoRA returns the adapter of base ([Out, In] or [E, Out, In]), named
// after the module base belongs to (module + ".lora_A", ".lora_B"): A drawn
// as cfg.Init says from rng, B zero, so the adapted module computes exactly
// what the base does.
func newLoRA(base *autograd.Tensor, module string, cfg LoRAConfig, rng *rand.Rand) *LoRA {
	sh := base.Shape()
	lead := sh[:len(sh)-2] // [E] for experts, [] otherwise
	out, in := sh[len(sh)-2], sh[len(sh)-1]
	l := &LoRA{
		A:       autograd.NewParam(base.DType(), module+".lora_A", append(append([]int{}, lead...), cfg.Rank, in)...),
		B:       autograd.NewParam(base.DType(), module+".lora_B", append(append([]int{}, lead...), out, cfg.Rank)...),
		Scale:   cfg.Scale(),
		Dropout: cfg.Dropout,
	}
	if cfg.Init == LoRAInitGaussian {
		std := 1 / float64(cfg.Rank)
		for i := range l.A.Len() {
			l.A.Set(i, rng.NormFloat64()*std)
		}
		return l
	}
	// kaiming_uniform_(a = sqrt(5)): gain sqrt(2/(1+a²)) = sqrt(1/3), bound
	// gain·sqrt(3/fan_in) = 1/sqrt(fan_in), with fan_in = In.
	bound := 1 / math.Sqrt(float64(in))
	for i := range l.A.Len() {
		l.A.Set(i, (2*rng.Float64()-1)*bound)
	}
	return l
}

// Params returns A and B.
func (l *LoRA) Params() []*autograd.Tensor { return []*autograd.Tensor{l.A, l.B} }

// Delta maps x [N, In] to s·B(A·drop(x)) [N, Out] for a 2-D adapter. It
// satisfies router.GateAdapter, so it also adapts a router's gate.
func (l *LoRA) Delta(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	ax := tp.MatMul(l.input(tp, x, training, rng), l.A, false, true) // [N, R]
	return tp.Scale(tp.MatMul(ax, l.B, false, true), l.Scale)        // [N, Out]
}

// Grouped maps x [M, In], grouped by expert with row offsets [E+1], through
// the adapted expert weights w [E, Out, In] to x_e·w_e^T + s·B_e(A_e·drop(x_e))
// [M, Out], as one op (autograd.Tape.GroupedLoRA): what GroupedMatMul(x, w)
// plus GroupedDelta computes, without the three [M, Out] intermediates (and
// their gradients) that the composition keeps on the tape.
func (l *LoRA) Grouped(tp *autograd.Tape, x, w *autograd.Tensor, offsets []int, training bool, rng *rand.Rand) *autograd.Tensor {
	return tp.GroupedLoRA(x, w, l.input(tp, x, training, rng), l.A, l.B, offsets, l.Scale)
}

// GroupedDelta maps x [M, In], grouped by expert with row offsets [E+1], to
// s·B_e(A_e·drop(x)) [M, Out] for an expert adapter: two GEMMs per expert on
// exactly its rows, like the experts' own. The experts use Grouped, which
// adds this to their own product in one op.
func (l *LoRA) GroupedDelta(tp *autograd.Tape, x *autograd.Tensor, offsets []int, training bool, rng *rand.Rand) *autograd.Tensor {
	ax := tp.GroupedMatMul(l.input(tp, x, training, rng), l.A, offsets) // [M, R]
	return tp.Scale(tp.GroupedMatMul(ax, l.B, offsets), l.Scale)        // [M, Out]
}

// input applies the adapter's dropout to x in training.
func (l *LoRA) input(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) *autograd.Tensor {
	if !training || l.Dropout == 0 {
		return x
	}
	return tp.Dropout(x, l.Dropout, rng)
}

// mergeInto adds s·B·A to w ([Out, In], or per expert [E, Out, In]),
// accumulating each element in float64.
func (l *LoRA) mergeInto(w *autograd.Tensor) {
	sh := w.Shape()
	out, in, r := sh[len(sh)-2], sh[len(sh)-1], l.A.Dim(-2)
	e := w.Len() / (out * in)
	if w.DType() == autograd.Float64 {
		mergeLoRA(w.F64(), l.A.F64(), l.B.F64(), e, out, in, r, l.Scale)
	} else {
		mergeLoRA(w.F32(), l.A.F32(), l.B.F32(), e, out, in, r, l.Scale)
	}
}

// mergeLoRA computes w[e] += s·b[e]·a[e] for w [E, Out, In], a [E, R, In]
// and b [E, Out, R].
func mergeLoRA[T autograd.Float](w, a, b []T, e, out, in, r int, s float64) {
	for x := range e {
		we, ae, be := w[x*out*in:(x+1)*out*in], a[x*r*in:(x+1)*r*in], b[x*out*r:(x+1)*out*r]
		for o := range out {
			for i := range in {
				acc := 0.0
				for k := range r {
					acc += float64(be[o*r+k]) * float64(ae[k*in+i])
				}
				we[o*in+i] = T(float64(we[o*in+i]) + s*acc)
			}
		}
	}
}
