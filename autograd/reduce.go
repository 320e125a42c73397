package autograd

import "fmt"

// reduceBlock is the number of elements Sum adds up per partial sum. Partials
// are fixed blocks combined in order, so the result does not depend on how
// many cores ran them.
const reduceBlock = 1 << 14

// Sum returns the sum of all elements of x as a [1] tensor. Float32 inputs are
// summed in float64.
func (tp *Tape) Sum(x *Tensor) *Tensor { return reduceAll(tp, x, 1) }

// Mean returns the mean of all elements of x as a [1] tensor. It panics if x
// has no elements.
func (tp *Tape) Mean(x *Tensor) *Tensor {
	if x.Len() == 0 {
		panic(fmt.Sprintf("autograd.Mean: empty tensor of shape %v", x.shape))
	}
	return reduceAll(tp, x, 1/float64(x.Len()))
}

// SumAxis returns the sum of x along axis (negative counts from the end), with
// that axis removed: x [A, B, C] summed on axis 1 gives [A, C]. Summing a 1-D
// tensor gives [1]. It panics if axis is out of range.
func (tp *Tape) SumAxis(x *Tensor, axis int) *Tensor {
	axis = shapeAxis("SumAxis", x.shape, axis)
	outer, mid, inner := numel(x.shape[:axis]), x.shape[axis], numel(x.shape[axis+1:])
	shape := append(append([]int(nil), x.shape[:axis]...), x.shape[axis+1:]...)
	if len(shape) == 0 {
		shape = []int{1}
	}
	out := tp.alloc(x.dtype, shape...)
	// Seen as x [outer, mid, inner] against out [outer, 1, inner], the sum is
	// the gradient of a broadcast and its gradient is the broadcast itself.
	p := newEwPlan("SumAxis", []int{outer, mid, inner}, []int{outer, 1, inner})
	if x.dtype == Float64 {
		reduceAxisOp[float64](tp, p, x, out)
	} else {
		reduceAxisOp[float32](tp, p, x, out)
	}
	return out
}

func reduceAll(tp *Tape, x *Tensor, scale float64) *Tensor {
	out := tp.alloc(x.dtype, 1)
	if x.dtype == Float64 {
		reduceAllOp[float64](tp, x, out, scale)
	} else {
		reduceAllOp[float32](tp, x, out, scale)
	}
	return out
}

func reduceAllOp[T Float](tp *Tape, x, out *Tensor, scale float64) {
	xv := Values[T](x)
	Values[T](out)[0] = T(scale * reduceSum(tp.eng, xv))
	tp.record(reduceName(scale), out, func() {
		g, gx := T(scale)*Grads[T](out)[0], gradOf[T](tp, x)
		tp.eng.parallelFor(len(gx), 1, func(lo, hi int) {
			for i := range gx[lo:hi] {
				gx[lo+i] += g
			}
		})
	}, x)
}

// reduceSum adds up v in float64, block by block on all cores.
func reduceSum[T Float](e *Engine, v []T) float64 {
	nb := (len(v) + reduceBlock - 1) / reduceBlock
	if nb <= 1 {
		return reduceSumRun(v)
	}
	part := make([]float64, nb)
	e.parallelFor(nb, reduceBlock, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			part[b] = reduceSumRun(v[b*reduceBlock : min((b+1)*reduceBlock, len(v))])
		}
	})
	s := 0.0
	for _, p := range part {
		s += p
	}
	return s
}

// reduceSumRun adds up v in float64 with four independent accumulators.
func reduceSumRun[T Float](v []T) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += float64(v[i])
		s1 += float64(v[i+1])
		s2 += float64(v[i+2])
		s3 += float64(v[i+3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func reduceAxisOp[T Float](tp *Tape, p *ewPlan, x, out *Tensor) {
	xv, ov := Values[T](x), Values[T](out)
	_, ib := p.inner()
	p.each(tp.eng, p.disjoint(p.sb), func(o, _, ob, m int) { ewAxpyRow(ov[ob:], ib, xv[o:o+m], 1) })
	tp.record("SumAxis", out, func() {
		g, gx := Grads[T](out), gradOf[T](tp, x)
		p.each(tp.eng, true, func(o, _, ob, m int) { reduceSpreadRow(gx[o:o+m], g[ob:], ib) })
	}, x)
}

// reduceSpreadRow adds g into d: d[j] += g[j] when ig is 1, d[j] += g[0] when
// ig is 0 (g is broadcast along the run).
func reduceSpreadRow[T Float](d, g []T, ig int) {
	if ig == 1 {
		ewAxpyRow(d, 1, g[:len(d)], 1)
		return
	}
	s := g[0]
	for j := range d {
		d[j] += s
	}
}

// reduceName names a whole-tensor reduction for reports: Sum, or Mean when
// it scales.
func reduceName(scale float64) string {
	if scale == 1 {
		return "Sum"
	}
	return "Mean"
}
