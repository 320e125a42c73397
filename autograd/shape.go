package autograd

import "fmt"

// Reshape returns a view of x with a new shape holding the same number of
// elements; one dim may be -1, inferred from the others. The view shares x's
// values (no copy) and has its own gradient, which backward adds into x's. It
// panics if the shape does not fit x or has more than one -1.
func (tp *Tape) Reshape(x *Tensor, shape ...int) *Tensor {
	v := tp.view(x, shapeResolve(x, shape)...)
	if x.dtype == Float64 {
		tp.record("Reshape", v, func() { gradAddInto(tp, x, Grads[float64](v), 1, true) }, x)
	} else {
		tp.record("Reshape", v, func() { gradAddInto(tp, x, Grads[float32](v), 1, true) }, x)
	}
	return v
}

// shapeResolve returns shape with its -1 (if any) filled in for x's size.
func shapeResolve(x *Tensor, shape []int) []int {
	s := append([]int(nil), shape...)
	free, known := -1, 1
	for i, d := range s {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			panic(fmt.Sprintf("autograd.Reshape: bad shape %v", shape))
		default:
			known *= d
		}
	}
	n := x.Len()
	switch {
	case free < 0 && known == n:
	case free >= 0 && known > 0 && n%known == 0:
		s[free] = n / known
	default:
		panic(fmt.Sprintf("autograd.Reshape: shape %v does not fit %v", shape, x.shape))
	}
	return s
}

// gradAddInto adds c·g to x's gradient, g having x's size, on all cores for
// large sizes. A gradient that is still logically zero (fresh from the pool
// or stale) is written, not cleared and added to. With donate, c = 1 and x
// an intermediate without a gradient yet, g itself becomes x's gradient and
// nothing is copied: g must be the gradient of the op's output, whose
// backward is running and which nothing reads afterwards. It reports whether
// it took g, which may then be given to no other tensor.
func gradAddInto[T Float](tp *Tape, x *Tensor, g []T, c T, donate bool) bool {
	if donate && c == 1 && x.pooled && !x.HasGrad() {
		borrowGrad(x, g)
		return true
	}
	d, beta := gradForOverwrite[T](tp, x)
	tp.eng.parallelFor(len(g), 1, func(lo, hi int) {
		if beta == 0 {
			ewScaleRow(d[lo:hi], g[lo:hi], c)
			return
		}
		ewAxpyRow(d[lo:hi], 1, g[lo:hi], c)
	})
	return false
}

// Transpose returns a copy of x with its axes permuted: output axis i is input
// axis perm[i], as numpy's transpose. It panics unless perm is a permutation
// of x's axes.
func (tp *Tape) Transpose(x *Tensor, perm ...int) *Tensor {
	r := len(x.shape)
	if len(perm) != r {
		panic(fmt.Sprintf("autograd.Transpose: permutation %v for shape %v", perm, x.shape))
	}
	seen := make([]bool, r)
	for _, p := range perm {
		if p < 0 || p >= r || seen[p] {
			panic(fmt.Sprintf("autograd.Transpose: permutation %v for shape %v", perm, x.shape))
		}
		seen[p] = true
	}
	shape := make([]int, r)
	full := make([]int, r) // x's stride along each output axis
	xs := make([]int, r)
	step := 1
	for i := r - 1; i >= 0; i-- {
		xs[i] = step
		step *= x.shape[i]
	}
	for i, p := range perm {
		shape[i] = x.shape[p]
		full[i] = xs[p]
	}
	out := tp.allocDirty(x.dtype, shape...)
	// Reuse the broadcast walker: "a" is x read through permuted strides, and
	// the output is contiguous. Dims of size 1 drop and contiguous runs merge.
	p := shapeTransposePlan(shape, full)
	if x.dtype == Float64 {
		shapeTransposeOp[float64](tp, p, x, out)
	} else {
		shapeTransposeOp[float32](tp, p, x, out)
	}
	return out
}

// shapeTransposePlan builds a walk over an output of the given shape that
// reads its source through strides st (one per output axis).
func shapeTransposePlan(shape, st []int) *ewPlan {
	p := &ewPlan{out: shape, n: numel(shape)}
	for i, d := range shape {
		if d == 1 {
			continue
		}
		k := len(p.dims) - 1
		if k >= 0 && p.sa[k] == st[i]*d {
			p.dims[k] *= d
			p.sa[k] = st[i]
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, st[i])
	}
	if len(p.dims) == 0 {
		p.dims, p.sa = []int{p.n}, []int{0}
	}
	p.sb = make([]int, len(p.dims))
	return p
}

func shapeTransposeOp[T Float](tp *Tape, p *ewPlan, x, out *Tensor) {
	xv, ov := Values[T](x), Values[T](out)
	s, _ := p.inner()
	p.each(tp.eng, true, func(o, ox, _, m int) {
		if s <= 1 {
			copy(ov[o:o+m], xv[ox:ox+m])
			return
		}
		for j := range ov[o : o+m] {
			ov[o+j] = xv[ox+j*s]
		}
	})
	tp.record("Transpose", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		// A permutation writes every element of x exactly once: runs are disjoint.
		p.each(tp.eng, true, func(o, ox, _, m int) {
			if s <= 1 {
				ewAxpyRow(gx[ox:], 1, g[o:o+m], 1)
				return
			}
			for j, v := range g[o : o+m] {
				gx[ox+j*s] += v
			}
		})
	}, x)
}

// Concat joins tensors along axis (negative counts from the end). All must
// share dtype, rank and every other dim. It panics otherwise or if xs is empty.
func (tp *Tape) Concat(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("autograd.Concat: no tensors")
	}
	mustSameDType("Concat", xs...)
	axis = shapeAxis("Concat", xs[0].shape, axis)
	shape := append([]int(nil), xs[0].shape...)
	shape[axis] = 0
	for _, x := range xs {
		if len(x.shape) != len(shape) {
			panic(fmt.Sprintf("autograd.Concat: shapes %v and %v differ in rank", xs[0].shape, x.shape))
		}
		for i, d := range x.shape {
			if i != axis && d != shape[i] {
				panic(fmt.Sprintf("autograd.Concat: shapes %v and %v differ off axis %d", xs[0].shape, x.shape, axis))
			}
		}
		shape[axis] += x.shape[axis]
	}
	out := tp.allocDirty(xs[0].dtype, shape...)
	outer := numel(shape[:axis])
	if xs[0].dtype == Float64 {
		shapeConcatOp[float64](tp, xs, out, outer)
	} else {
		shapeConcatOp[float32](tp, xs, out, outer)
	}
	return out
}

// shapeAxis resolves a possibly negative axis of shape, panicking if it is out
// of range.
func shapeAxis(op string, shape []int, axis int) int {
	a := axis
	if a < 0 {
		a += len(shape)
	}
	if a < 0 || a >= len(shape) {
		panic(fmt.Sprintf("autograd.%s: axis %d of shape %v", op, axis, shape))
	}
	return a
}

// shapeConcatOp copies each input's block of every outer row into the output.
// Seen as [outer, width], input i fills columns offs[i] : offs[i]+w_i.
func shapeConcatOp[T Float](tp *Tape, xs []*Tensor, out *Tensor, outer int) {
	offs := make([]int, len(xs)+1)
	for i, x := range xs {
		w := 0
		if outer > 0 {
			w = x.Len() / outer
		}
		offs[i+1] = offs[i] + w
	}
	width := offs[len(xs)]
	ov := Values[T](out)
	tp.eng.parallelFor(outer, width, func(lo, hi int) {
		for i, x := range xs {
			w, xv := offs[i+1]-offs[i], Values[T](x)
			for r := lo; r < hi; r++ {
				copy(ov[r*width+offs[i]:r*width+offs[i+1]], xv[r*w:(r+1)*w])
			}
		}
	})
	tp.record("Concat", out, func() {
		g := Grads[T](out)
		for i, x := range xs {
			if !x.requiresGrad {
				continue
			}
			w, gx := offs[i+1]-offs[i], gradOf[T](tp, x)
			tp.eng.parallelFor(outer, w, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					ewAxpyRow(gx[r*w:(r+1)*w], 1, g[r*width+offs[i]:r*width+offs[i+1]], 1)
				}
			})
		}
	}, xs...)
}

// Split cuts x along axis (negative counts from the end) into consecutive
// pieces of the given sizes, returned as copies. Each piece's gradient flows
// back into its slice of x. It panics if the sizes are negative or do not sum
// to x's size along axis.
func (tp *Tape) Split(x *Tensor, axis int, sizes ...int) []*Tensor {
	axis = shapeAxis("Split", x.shape, axis)
	total := 0
	for _, s := range sizes {
		if s < 0 {
			panic(fmt.Sprintf("autograd.Split: negative size in %v", sizes))
		}
		total += s
	}
	if total != x.shape[axis] {
		panic(fmt.Sprintf("autograd.Split: sizes %v do not sum to dim %d of %v", sizes, axis, x.shape))
	}
	outer, after := numel(x.shape[:axis]), numel(x.shape[axis+1:])
	width := total * after
	outs := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		shape := append([]int(nil), x.shape...)
		shape[axis] = s
		outs[i] = tp.allocDirty(x.dtype, shape...)
		if x.dtype == Float64 {
			shapeSplitOp[float64](tp, x, outs[i], outer, width, off, s*after)
		} else {
			shapeSplitOp[float32](tp, x, outs[i], outer, width, off, s*after)
		}
		off += s * after
	}
	return outs
}

// shapeSplitOp copies columns off : off+w of x seen as [outer, width] into out.
func shapeSplitOp[T Float](tp *Tape, x, out *Tensor, outer, width, off, w int) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(outer, w, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(ov[r*w:(r+1)*w], xv[r*width+off:r*width+off+w])
		}
	})
	tp.record("Split", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		tp.eng.parallelFor(outer, w, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				ewAxpyRow(gx[r*width+off:r*width+off+w], 1, g[r*w:(r+1)*w], 1)
			}
		})
	}, x)
}
