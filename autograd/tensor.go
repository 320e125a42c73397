package autograd

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// DType is the element type of a Tensor.
type DType uint8

const (
	// Float32 is the training dtype.
	Float32 DType = iota
	// Float64 is used for tight gradient checks.
	Float64
)

func (d DType) String() string {
	if d == Float64 {
		return "float64"
	}
	return "float32"
}

// Float is the set of element types kernels are written for.
type Float interface{ ~float32 | ~float64 }

// Tensor is a dense row-major array with an optional gradient of the same shape.
type Tensor struct {
	shape        []int
	dtype        DType
	f32          []float32 // backing when dtype == Float32
	f64          []float64 // backing when dtype == Float64
	g32          []float32 // gradient; nil until first needed
	g64          []float64
	requiresGrad bool
	pooled       bool // buffers owned by a Tape's pool
	view         bool // value buffer borrowed from another tensor
	gradView     bool // gradient buffer borrowed from another tensor (borrowGrad)
	// gradStale marks the gradient buffer as logically zero without having
	// cleared it: ZeroGrad is O(1), and the first kernel to touch the
	// gradient either overwrites it (GEMMs with beta = 0) or clears it.
	gradStale bool
	Name      string
}

// New returns a zero-filled tensor of the given dtype and shape.
// It panics if a dimension is negative.
func New(dt DType, shape ...int) *Tensor {
	n := numel(shape)
	t := &Tensor{shape: append([]int(nil), shape...), dtype: dt}
	if dt == Float64 {
		t.f64 = make([]float64, n)
	} else {
		t.f32 = make([]float32, n)
	}
	return t
}

// NewParam returns a zero-filled tensor that requires grad: a trainable parameter.
func NewParam(dt DType, name string, shape ...int) *Tensor {
	t := New(dt, shape...)
	t.requiresGrad = true
	t.Name = name
	return t
}

// FromSlice wraps data (not copied) as a tensor of the given shape. The element
// type picks the dtype. It panics if len(data) does not match the shape.
func FromSlice[T Float](data []T, shape ...int) *Tensor {
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("autograd.FromSlice: %d elements for shape %v", len(data), shape))
	}
	t := &Tensor{shape: append([]int(nil), shape...)}
	switch d := any(data).(type) {
	case []float32:
		t.f32 = d
	case []float64:
		t.dtype = Float64
		t.f64 = d
	}
	return t
}

// FromDense wraps the backing of a gorgonia Dense (float32 or float64, not copied).
func FromDense(d *tensor.Dense) (*Tensor, error) {
	shape := []int(d.Shape())
	if len(shape) == 0 {
		shape = []int{1}
	}
	switch v := d.Data().(type) {
	case []float32:
		return FromSlice(v, shape...), nil
	case []float64:
		return FromSlice(v, shape...), nil
	case float32:
		return FromSlice([]float32{v}, 1), nil
	case float64:
		return FromSlice([]float64{v}, 1), nil
	}
	return nil, fmt.Errorf("autograd.FromDense: unsupported dtype %v", d.Dtype())
}

// Dense returns a zero-copy gorgonia.org/tensor view of the value.
func (t *Tensor) Dense() *tensor.Dense {
	if t.dtype == Float64 {
		return tensor.New(tensor.WithShape(t.shape...), tensor.WithBacking(t.f64))
	}
	return tensor.New(tensor.WithShape(t.shape...), tensor.WithBacking(t.f32))
}

// Shape returns the tensor's shape; callers must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	if t.dtype == Float64 {
		return len(t.f64)
	}
	return len(t.f32)
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// RequiresGrad reports whether gradients flow into t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks t as a leaf that collects gradients.
func (t *Tensor) SetRequiresGrad(v bool) { t.requiresGrad = v }

// F32 returns the float32 backing; it panics on a float64 tensor.
func (t *Tensor) F32() []float32 {
	if t.dtype != Float32 {
		panic("autograd: F32 on a " + t.dtype.String() + " tensor")
	}
	return t.f32
}

// F64 returns the float64 backing; it panics on a float32 tensor.
func (t *Tensor) F64() []float64 {
	if t.dtype != Float64 {
		panic("autograd: F64 on a " + t.dtype.String() + " tensor")
	}
	return t.f64
}

// At returns element i (flat index) as float64, whatever the dtype.
func (t *Tensor) At(i int) float64 {
	if t.dtype == Float64 {
		return t.f64[i]
	}
	return float64(t.f32[i])
}

// Set stores v at flat index i.
func (t *Tensor) Set(i int, v float64) {
	if t.dtype == Float64 {
		t.f64[i] = v
	} else {
		t.f32[i] = float32(v)
	}
}

// Item returns the single element of a one-element tensor. It panics otherwise.
func (t *Tensor) Item() float64 {
	if t.Len() != 1 {
		panic(fmt.Sprintf("autograd.Item: tensor of shape %v", t.shape))
	}
	return t.At(0)
}

// HasGrad reports whether a gradient buffer exists.
func (t *Tensor) HasGrad() bool { return t.g32 != nil || t.g64 != nil }

// GradAt returns gradient element i as float64 (0 if there is no gradient).
func (t *Tensor) GradAt(i int) float64 {
	switch {
	case t.gradStale:
		return 0
	case t.g64 != nil:
		return t.g64[i]
	case t.g32 != nil:
		return float64(t.g32[i])
	}
	return 0
}

// Grad returns the gradient as a tensor sharing its buffer, or nil if none.
func (t *Tensor) Grad() *Tensor {
	t.freshenGrad()
	switch {
	case t.g64 != nil:
		return FromSlice(t.g64, t.shape...)
	case t.g32 != nil:
		return FromSlice(t.g32, t.shape...)
	}
	return nil
}

// ZeroGrad sets the accumulated gradient to zero (keeping its buffer). It
// costs nothing until the gradient is next used: see gradStale.
func (t *Tensor) ZeroGrad() {
	if t.g32 != nil || t.g64 != nil {
		t.gradStale = true
	}
}

// freshenGrad clears a stale gradient buffer.
func (t *Tensor) freshenGrad() {
	if t.gradStale {
		clear(t.g32)
		clear(t.g64)
		t.gradStale = false
	}
}

// gradForOverwrite returns t's gradient buffer and the GEMM beta to
// accumulate into it with: 0 when the buffer is stale or newly taken from the
// pool uncleared (the kernel overwrites every element it is given, and must
// clear the rest itself), else 1.
func gradForOverwrite[T Float](tp *Tape, t *Tensor) ([]T, T) {
	if t.gradStale {
		t.gradStale = false
		return Grads[T](t), 0
	}
	if t.pooled && !t.HasGrad() {
		var z T
		if _, ok := any(z).(float32); ok {
			t.g32 = tp.pool.get32Dirty(len(t.f32))
			return Grads[T](t), 0
		}
	}
	return gradOf[T](tp, t), 1
}

// Clone returns a deep copy of the value (no gradient, not pooled).
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{shape: append([]int(nil), t.shape...), dtype: t.dtype, Name: t.Name}
	c.f32 = append([]float32(nil), t.f32...)
	c.f64 = append([]float64(nil), t.f64...)
	if t.dtype == Float32 {
		c.f64 = nil
	} else {
		c.f32 = nil
	}
	return c
}

// Values returns the backing slice of t as []T. It panics if T does not match.
func Values[T Float](t *Tensor) []T {
	var z T
	if _, ok := any(z).(float64); ok {
		return any(t.f64).([]T)
	}
	return any(t.f32).([]T)
}

// Grads returns t's gradient as []T, allocating a zeroed buffer on first use.
func Grads[T Float](t *Tensor) []T {
	t.freshenGrad()
	var z T
	if _, ok := any(z).(float64); ok {
		if t.g64 == nil {
			t.g64 = make([]float64, len(t.f64))
		}
		return any(t.g64).([]T)
	}
	if t.g32 == nil {
		t.g32 = make([]float32, len(t.f32))
	}
	return any(t.g32).([]T)
}

// borrowGrad makes g, another intermediate's gradient buffer, t's gradient
// without copying it; the pool takes it back from its owner alone.
func borrowGrad[T Float](t *Tensor, g []T) {
	switch g := any(g).(type) {
	case []float32:
		t.g32 = g
	case []float64:
		t.g64 = g
	}
	t.gradView = true
}

// isView reports whether t borrows its value buffer.
func (t *Tensor) isView() bool { return t.view }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("autograd: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// sameShape reports whether two shapes are equal.
func sameShape(a, b []int) bool { return slices.Equal(a, b) }

// mustSameDType panics if the tensors do not share a dtype.
func mustSameDType(op string, ts ...*Tensor) {
	for _, t := range ts[1:] {
		if t.dtype != ts[0].dtype {
			panic(fmt.Sprintf("autograd.%s: mixed dtypes %v and %v", op, ts[0].dtype, t.dtype))
		}
	}
}
