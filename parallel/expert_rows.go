package parallel

import (
	"unsafe"

	"github.com/moetrain/moetrain/autograd"
)

// rowLen is the float32 values of one row of x [N, D]: D, or 2D for
// float64 rows, which travel as the two halves of each value's bits.
func rowLen(x *autograd.Tensor) int {
	d := 1
	for _, n := range x.Shape()[1:] {
		d *= n
	}
	if x.DType() == autograd.Float64 {
		return 2 * d
	}
	return d
}

// bits views t's values as float32s: the values of a float32 tensor, the
// bit halves of a float64 one. Collectives that only move data carry both.
func bits(t *autograd.Tensor) []float32 {
	if t.DType() != autograd.Float64 {
		return t.F32()
	}
	return f64Bits(t.F64())
}

// gradBits views t's gradient (drawn from tp's pool if it has none) as
// bits does its values.
func gradBits(tp *autograd.Tape, t *autograd.Tensor) []float32 {
	if t.DType() != autograd.Float64 {
		return autograd.GradOf[float32](tp, t)
	}
	return f64Bits(autograd.GradOf[float64](tp, t))
}

// f64Bits views v [L] as [2L] float32 values, without copying.
func f64Bits(v []float64) []float32 {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&v[0])), 2*len(v))
}

// addArrival adds g [R, D], in arrival order, into t's gradient [R, D], in
// the experts' order, following p's blocks.
func addArrival(tp *autograd.Tape, t, g *autograd.Tensor, p *epPlan) {
	if t.DType() == autograd.Float64 {
		addBlocks(autograd.GradOf[float64](tp, t), g.F64(), p.blocks, p.width/2)
	} else {
		addBlocks(autograd.GradOf[float32](tp, t), g.F32(), p.blocks, p.width)
	}
}

// addBlocks adds src, in arrival order, into dst, in the experts' order:
// block by block with rows of d values, or element by element when blocks
// is nil (the two orders agree).
func addBlocks[T float32 | float64](dst, src []T, blocks []rowBlock, d int) {
	if blocks == nil {
		for i, v := range src {
			dst[i] += v
		}
		return
	}
	for _, b := range blocks {
		dst := dst[b.grouped*d : (b.grouped+b.rows)*d]
		for i, v := range src[b.arrival*d : (b.arrival+b.rows)*d] {
			dst[i] += v
		}
	}
}

// forceGrad gives t a gradient buffer now, so that the backward pass runs
// t's op even on a rank where nothing flows into it (its loss ignores the
// layer, or it has no rows): its peers' backward passes wait for this
// rank's exchange.
func forceGrad(tp *autograd.Tape, t *autograd.Tensor) {
	if t.DType() == autograd.Float64 {
		autograd.GradOf[float64](tp, t)
	} else {
		autograd.GradOf[float32](tp, t)
	}
}
