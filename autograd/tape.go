package autograd

import "fmt"

// Tape records differentiable ops as they run and replays them in reverse in
// Backward. A Tape is used by one goroutine at a time; ranks running as
// goroutines each own a Tape.
type Tape struct {
	grad    bool
	records []record
	owned   []*Tensor // intermediates whose buffers return to the pool on Reset
	pool    bufferPool
}

type record struct {
	out      *Tensor
	backward func()
}

// NewTape returns a tape that records ops for Backward.
func NewTape() *Tape { return &Tape{grad: true} }

// NewNoGradTape returns a tape that records nothing: for eval and generation.
// Ops on it compute values only, and their outputs never require grad.
func NewNoGradTape() *Tape { return &Tape{} }

// Recording reports whether ops on this tape record gradients.
func (tp *Tape) Recording() bool { return tp.grad }

// Len returns the number of recorded ops.
func (tp *Tape) Len() int { return len(tp.records) }

// record appends the backward closure for out if gradients must flow from any
// input, and marks out as requiring grad. It reports whether it recorded.
func (tp *Tape) record(out *Tensor, backward func(), inputs ...*Tensor) bool {
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
	tp.records = append(tp.records, record{out: out, backward: backward})
	return true
}

// Backward seeds d(loss)/d(loss) = 1 and propagates gradients through the tape
// in reverse, accumulating into every tensor that requires grad. loss must have
// exactly one element and have been produced on this tape (or be a parameter).
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
		r := tp.records[i]
		if !r.out.HasGrad() {
			continue // nothing flowed into this op's output
		}
		r.backward()
	}
	return nil
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
