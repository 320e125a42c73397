package autograd

// ewKind selects the arithmetic of a binary elementwise op.
type ewKind uint8

const (
	ewAdd ewKind = iota
	ewSub
	ewMul
)

var ewNames = [...]string{ewAdd: "Add", ewSub: "Sub", ewMul: "Mul"}

// Add returns a + b elementwise with numpy broadcasting (either operand may
// be broadcast; shapes align at the last axis). The gradient of a broadcast
// operand is summed over the axes it was broadcast along. It panics if the
// shapes do not broadcast or the dtypes differ.
func (tp *Tape) Add(a, b *Tensor) *Tensor { return ewBinary(tp, ewAdd, a, b) }

// Sub returns a - b elementwise with numpy broadcasting, as Add. It panics if
// the shapes do not broadcast or the dtypes differ.
func (tp *Tape) Sub(a, b *Tensor) *Tensor { return ewBinary(tp, ewSub, a, b) }

// Mul returns a * b elementwise with numpy broadcasting, as Add. It panics if
// the shapes do not broadcast or the dtypes differ.
func (tp *Tape) Mul(a, b *Tensor) *Tensor { return ewBinary(tp, ewMul, a, b) }

// Scale returns s * x.
func (tp *Tape) Scale(x *Tensor, s float64) *Tensor {
	out := tp.allocDirty(x.dtype, x.shape...)
	if x.dtype == Float64 {
		ewScaleOp[float64](tp, x, out, s)
	} else {
		ewScaleOp[float32](tp, x, out, s)
	}
	return out
}

func ewBinary(tp *Tape, k ewKind, a, b *Tensor) *Tensor {
	mustSameDType(ewNames[k], a, b)
	p := newEwPlan(ewNames[k], a.shape, b.shape)
	out := tp.allocDirty(a.dtype, p.out...)
	if a.dtype == Float64 {
		ewBinaryOp[float64](tp, k, p, a, b, out)
	} else {
		ewBinaryOp[float32](tp, k, p, a, b, out)
	}
	return out
}

func ewBinaryOp[T Float](tp *Tape, k ewKind, p *ewPlan, a, b, out *Tensor) {
	av, bv, ov := Values[T](a), Values[T](b), Values[T](out)
	ia, ib := p.inner()
	p.each(tp.eng, true, func(o, oa, ob, m int) {
		switch k {
		case ewAdd:
			ewAddRow(ov[o:o+m], av[oa:], ia, bv[ob:], ib)
		case ewSub:
			ewSubRow(ov[o:o+m], av[oa:], ia, bv[ob:], ib)
		default:
			ewMulRow(ov[o:o+m], av[oa:], ia, bv[ob:], ib)
		}
	})
	tp.record(ewNames[k], out, func() { ewBinaryBackward[T](tp, k, p, a, b, out) }, a, b)
}

func ewBinaryBackward[T Float](tp *Tape, k ewKind, p *ewPlan, a, b, out *Tensor) {
	g := Grads[T](out)
	av, bv := Values[T](a), Values[T](b)
	ia, ib := p.inner()
	tookG := false                                            // a's gradient is g itself
	if a.requiresGrad && k != ewMul && a.Len() == out.Len() { // da += g
		tookG = gradAddInto(tp, a, g, 1, true)
	} else if a.requiresGrad {
		ga := gradOf[T](tp, a)
		p.each(tp.eng, p.disjoint(p.sa), func(o, oa, ob, m int) {
			if k == ewMul { // da += g * b
				ewMulAccRow(ga[oa:], ia, g[o:o+m], bv[ob:], ib)
			} else { // da += g
				ewAxpyRow(ga[oa:], ia, g[o:o+m], 1)
			}
		})
	}
	if b.requiresGrad && k != ewMul && b.Len() == out.Len() { // db += ±g
		sign := T(1)
		if k == ewSub {
			sign = -1
		}
		gradAddInto(tp, b, g, sign, !tookG)
	} else if b.requiresGrad {
		gb := gradOf[T](tp, b)
		p.each(tp.eng, p.disjoint(p.sb), func(o, oa, ob, m int) {
			switch k {
			case ewMul: // db += g * a
				ewMulAccRow(gb[ob:], ib, g[o:o+m], av[oa:], ia)
			case ewSub: // db -= g
				ewAxpyRow(gb[ob:], ib, g[o:o+m], -1)
			default: // db += g
				ewAxpyRow(gb[ob:], ib, g[o:o+m], 1)
			}
		})
	}
}

func ewScaleOp[T Float](tp *Tape, x, out *Tensor, s float64) {
	xv, ov, c := Values[T](x), Values[T](out), T(s)
	tp.eng.parallelFor(len(ov), 1, func(lo, hi int) { ewScaleRow(ov[lo:hi], xv[lo:hi], c) })
	tp.record("Scale", out, func() { gradAddInto(tp, x, Grads[T](out), c, true) }, x)
}

// ewAddRow sets o[j] = a[j*ia] + b[j*ib]; each stride is 0 or 1.
func ewAddRow[T Float](o, a []T, ia int, b []T, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(o)], b[:len(o)]
		for j := range o {
			o[j] = a[j] + b[j]
		}
	case ia == 1:
		a, s := a[:len(o)], b[0]
		for j := range o {
			o[j] = a[j] + s
		}
	case ib == 1:
		b, s := b[:len(o)], a[0]
		for j := range o {
			o[j] = s + b[j]
		}
	default:
		for j := range o {
			o[j] = a[0] + b[0]
		}
	}
}

// ewSubRow sets o[j] = a[j*ia] - b[j*ib]; each stride is 0 or 1.
func ewSubRow[T Float](o, a []T, ia int, b []T, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(o)], b[:len(o)]
		for j := range o {
			o[j] = a[j] - b[j]
		}
	case ia == 1:
		a, s := a[:len(o)], b[0]
		for j := range o {
			o[j] = a[j] - s
		}
	case ib == 1:
		b, s := b[:len(o)], a[0]
		for j := range o {
			o[j] = s - b[j]
		}
	default:
		for j := range o {
			o[j] = a[0] - b[0]
		}
	}
}

// ewMulRow sets o[j] = a[j*ia] * b[j*ib]; each stride is 0 or 1.
func ewMulRow[T Float](o, a []T, ia int, b []T, ib int) {
	switch {
	case ia == 1 && ib == 1:
		a, b = a[:len(o)], b[:len(o)]
		for j := range o {
			o[j] = a[j] * b[j]
		}
	case ia == 1:
		a, s := a[:len(o)], b[0]
		for j := range o {
			o[j] = a[j] * s
		}
	case ib == 1:
		b, s := b[:len(o)], a[0]
		for j := range o {
			o[j] = s * b[j]
		}
	default:
		for j := range o {
			o[j] = a[0] * b[0]
		}
	}
}

// ewAxpyRow accumulates c*g into d: d[j] += c*g[j] when id is 1, or
// d[0] += c*sum(g) when id is 0 (d is broadcast along the run).
func ewAxpyRow[T Float](d []T, id int, g []T, c T) {
	if id == 0 {
		var s T
		for _, v := range g {
			s += v
		}
		d[0] += c * s
		return
	}
	d = d[:len(g)]
	if c == 1 {
		for j, v := range g {
			d[j] += v
		}
		return
	}
	for j, v := range g {
		d[j] += c * v
	}
}

// ewScaleRow sets d[j] = c*g[j]: Scale's kernel, and ewAxpyRow into a
// gradient that is still zero.
func ewScaleRow[T Float](d, g []T, c T) {
	if c == 1 {
		copy(d, g)
		return
	}
	d = d[:len(g)]
	for j, v := range g {
		d[j] = c * v
	}
}

// ewMulAccRow accumulates d[j*id] += g[j] * x[j*ix]; each stride is 0 or 1.
func ewMulAccRow[T Float](d []T, id int, g, x []T, ix int) {
	switch {
	case id == 1 && ix == 1:
		d, x = d[:len(g)], x[:len(g)]
		for j, v := range g {
			d[j] += v * x[j]
		}
	case id == 1:
		d, s := d[:len(g)], x[0]
		for j, v := range g {
			d[j] += v * s
		}
	case ix == 1:
		x = x[:len(g)]
		var s T
		for j, v := range g {
			s += v * x[j]
		}
		d[0] += s
	default:
		var s T
		for _, v := range g {
			s += v
		}
		d[0] += s * x[0]
	}
}
