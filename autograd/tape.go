package autograd

import "fmt"

// Tape records differentiable ops as they run and replays them in reverse in
// Backward. A Tape is used by one goroutine at a time; ranks running as
// goroutines each own a Tape.
type Tape struct {
	eng     *Engine
	grad    bool
	records []record
	owned   []*Tensor // intermediates whose buffers return to the pool on Reset
	pool    bufferPool
	finite  bool     // Backward checks every op's input gradients (CheckFinite)
	prof    *profile // per-op times while profiling; nil otherwise
}

// record is one recorded op: its name, output, inputs and backward.
type record struct {
	op       string
	out      *Tensor
	in       [3]*Tensor // the first three inputs
	more     []*Tensor  // inputs beyond three (rare)
	backward func()
}

// inputs calls fn with each of r's inputs and its position.
func (r *record) inputs(fn func(i int, t *Tensor)) {
	for i, t := range r.in {
		if t != nil {
			fn(i, t)
		}
	}
	for i, t := range r.more {
		if t != nil {
			fn(len(r.in)+i, t)
		}
	}
}

// NewTape returns a tape on the default engine that records ops for Backward.
func NewTape() *Tape { return NewTapeOn(DefaultEngine()) }

// NewNoGradTape returns a tape on the default engine that records nothing:
// for eval and generation. Ops on it compute values only, and their outputs
// never require grad.
func NewNoGradTape() *Tape { return NewNoGradTapeOn(DefaultEngine()) }

// NewTapeOn returns a tape whose ops run on e and record for Backward.
// It panics if e is nil.
func NewTapeOn(e *Engine) *Tape {
	tp := NewNoGradTapeOn(e)
	tp.grad = true
	return tp
}

// NewNoGradTapeOn returns a tape whose ops run on e and record nothing.
// It panics if e is nil.
func NewNoGradTapeOn(e *Engine) *Tape {
	if e == nil {
		panic("autograd.NewTapeOn: nil engine")
	}
	return &Tape{eng: e, pool: bufferPool{eng: e}}
}

// Engine returns the engine this tape's ops run on.
func (tp *Tape) Engine() *Engine { return tp.eng }

// Recording reports whether ops on this tape record gradients.
func (tp *Tape) Recording() bool { return tp.grad }

// Len returns the number of recorded ops.
func (tp *Tape) Len() int { return len(tp.records) }

// Record appends a custom op to the tape: out was computed from inputs by
// code outside this package, and backward, run by Backward once out's
// gradient (Grads(out)) is final, adds the op's contribution to the
// gradients of the inputs that require grad (GradOf). op names the op in
// non-finite reports and profiles. It records nothing and returns false when
// the tape does not record or no input requires grad; otherwise out is
// marked as requiring grad. out should be allocated on this tape (Alloc);
// backward must only add to input gradients, never overwrite them, since
// other ops may have added first. This is how an all-to-all exchange, a
// fused adapter product or a precision cast joins the tape; GradCheck
// checks it like any built-in op.
func (tp *Tape) Record(op string, out *Tensor, backward func(), inputs ...*Tensor) bool {
	return tp.record(op, out, backward, inputs...)
}

// GradOf returns the gradient buffer of t for a custom op's backward to add
// into, drawing it from tp's pool when t is an intermediate of tp. T must
// match t's dtype. It panics if t does not require grad.
func GradOf[T Float](tp *Tape, t *Tensor) []T {
	if !t.requiresGrad {
		panic("autograd.GradOf: tensor does not require grad")
	}
	return gradOf[T](tp, t)
}

// record appends op's backward closure for out if gradients must flow from
// any input, and marks out as requiring grad. It reports whether it recorded.
func (tp *Tape) record(op string, out *Tensor, backward func(), inputs ...*Tensor) bool {
	if !tp.grad {
		return false
	}
	needed := false
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			needed = true
			break
		}
	}
	if !needed {
		return false
	}
	out.requiresGrad = true
	r := record{op: op, out: out, backward: backward}
	n := copy(r.in[:], inputs)
	if len(inputs) > n {
		r.more = append([]*Tensor(nil), inputs[n:]...)
	}
	tp.records = append(tp.records, r)
	if tp.prof != nil {
		tp.prof.forward(op)
	}
	return true
}

// Backward seeds d(loss)/d(loss) = 1 and propagates gradients through the tape
// in reverse, accumulating into every tensor that requires grad. loss must have
// exactly one element and have been produced on this tape (or be a parameter).
// With CheckFinite on, it stops at the first op whose backward leaves a
// non-finite value in an input's gradient and names the op and the input.
func (tp *Tape) Backward(loss *Tensor) error {
	if loss.Len() != 1 {
		return fmt.Errorf("autograd.Backward: loss must have one element, has shape %v", loss.shape)
	}
	if !loss.requiresGrad {
		return fmt.Errorf("autograd.Backward: loss does not depend on any tensor that requires grad")
	}
	if loss.dtype == Float64 {
		Grads[float64](loss)[0] += 1
	} else {
		Grads[float32](loss)[0] += 1
	}
	for i := len(tp.records) - 1; i >= 0; i-- {
		r := &tp.records[i]
		if !r.out.HasGrad() {
			continue // nothing flowed into this op's output
		}
		if tp.prof != nil {
			tp.prof.backward(r)
		} else {
			r.backward()
		}
		if tp.finite {
			if err := r.checkFinite(i, len(tp.records)); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckFinite turns on (or off) Backward's check of every op's input
// gradients for NaN and Inf: a debugging aid that names the op a non-finite
// gradient comes from, at the cost of reading every gradient once per op.
func (tp *Tape) CheckFinite(on bool) { tp.finite = on }

// Ops returns the names of the recorded ops, in recording order.
func (tp *Tape) Ops() []string {
	names := make([]string, len(tp.records))
	for i := range tp.records {
		names[i] = tp.records[i].op
	}
	return names
}

// Reset forgets recorded ops and returns every intermediate's buffers to the
// pool. Tensors produced on this tape must not be used after Reset.
func (tp *Tape) Reset() {
	clear(tp.records)
	tp.records = tp.records[:0]
	for i, t := range tp.owned {
		tp.pool.put(t)
		tp.owned[i] = nil
	}
	tp.owned = tp.owned[:0]
	tp.pool.endCycle()
}

// alloc returns a zero-filled intermediate owned by the tape.
func (tp *Tape) alloc(dt DType, shape ...int) *Tensor {
	n := numel(shape)
	t := &Tensor{shape: append(make([]int, 0, 4), shape...), dtype: dt, pooled: true}
	if dt == Float64 {
		t.f64 = tp.pool.get64(n)
	} else {
		t.f32 = tp.pool.get32(n)
	}
	tp.owned = append(tp.owned, t)
	return t
}

// allocDirty is alloc without zeroing a float32 buffer, for outputs that a
// kernel overwrites entirely (GEMMs with beta = 0).
func (tp *Tape) allocDirty(dt DType, shape ...int) *Tensor {
	if dt == Float64 {
		return tp.alloc(dt, shape...)
	}
	t := &Tensor{shape: append(make([]int, 0, 4), shape...), dtype: dt, pooled: true}
	t.f32 = tp.pool.get32Dirty(numel(shape))
	tp.owned = append(tp.owned, t)
	return t
}

// view returns a tensor sharing x's value buffer with a new shape. The view
// owns only its gradient buffer.
func (tp *Tape) view(x *Tensor, shape ...int) *Tensor {
	t := &Tensor{shape: append(make([]int, 0, 4), shape...), dtype: x.dtype, f32: x.f32, f64: x.f64, pooled: true, view: true}
	tp.owned = append(tp.owned, t)
	return t
}

// Alloc returns a zero-filled tensor owned by the tape (released on Reset):
// scratch space for callers that build values outside the op set.
func (tp *Tape) Alloc(dt DType, shape ...int) *Tensor { return tp.alloc(dt, shape...) }

// Constant wraps data as a tensor that never requires grad, owned by the caller.
func Constant[T Float](data []T, shape ...int) *Tensor { return FromSlice(data, shape...) }

// grads returns the gradient buffer of an intermediate or leaf, drawing from
// the tape's pool for intermediates.
func gradOf[T Float](tp *Tape, t *Tensor) []T {
	if t.pooled && !t.HasGrad() {
		var z T
		if _, ok := any(z).(float64); ok {
			t.g64 = tp.pool.get64(len(t.f64))
		} else {
			t.g32 = tp.pool.get32(len(t.f32))
		}
	}
	return Grads[T](t)
}
