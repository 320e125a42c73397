package autograd

import "fmt"

// MatMul returns op(a) · op(b) for 2-D tensors, where op transposes when the
// flag is set: a [M,K] (or [K,M] with transA), b [K,N] (or [N,K] with transB),
// result [M,N]. It panics on mismatched shapes.
func (tp *Tape) MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	if len(a.shape) != 2 || len(b.shape) != 2 {
		panic(fmt.Sprintf("autograd.MatMul: want 2-D operands, got %v and %v", a.shape, b.shape))
	}
	return tp.matmul(a, b, transA, transB, 1, a.shape[0], a.shape[1], b.shape[0], b.shape[1])
}

// BatchedMatMul multiplies matching matrices of two 3-D tensors:
// a [S,M,K] (or [S,K,M]), b [S,K,N] (or [S,N,K]) -> [S,M,N].
func (tp *Tape) BatchedMatMul(a, b *Tensor, transA, transB bool) *Tensor {
	if len(a.shape) != 3 || len(b.shape) != 3 || a.shape[0] != b.shape[0] {
		panic(fmt.Sprintf("autograd.BatchedMatMul: want 3-D operands with one batch size, got %v and %v", a.shape, b.shape))
	}
	return tp.matmul(a, b, transA, transB, a.shape[0], a.shape[1], a.shape[2], b.shape[1], b.shape[2])
}

func (tp *Tape) matmul(a, b *Tensor, transA, transB bool, batch, ar, ac, br, bc int) *Tensor {
	mustSameDType("MatMul", a, b)
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if k != kb {
		panic(fmt.Sprintf("autograd.MatMul: inner dimensions differ: %v (trans %v) x %v (trans %v)", a.shape, transA, b.shape, transB))
	}
	shape := []int{m, n}
	if batch > 1 || len(a.shape) == 3 {
		shape = []int{batch, m, n}
	}
	out := tp.allocDirty(a.dtype, shape...) // every element is written (beta = 0)
	if a.dtype == Float64 {
		matmulForward(tp.eng, Values[float64](a), Values[float64](b), Values[float64](out), transA, transB, batch, m, n, k, ac, bc)
		tp.record("MatMul", out, func() { matmulBackward[float64](tp, a, b, out, transA, transB, batch, m, n, k, ac, bc) }, a, b)
	} else {
		matmulForward(tp.eng, Values[float32](a), Values[float32](b), Values[float32](out), transA, transB, batch, m, n, k, ac, bc)
		tp.record("MatMul", out, func() { matmulBackward[float32](tp, a, b, out, transA, transB, batch, m, n, k, ac, bc) }, a, b)
	}
	return out
}

// matmulForward runs one GEMM per batch entry; lda = ac and ldb = bc are the
// stored row strides.
func matmulForward[T Float](e *Engine, a, b, c []T, transA, transB bool, batch, m, n, k, lda, ldb int) {
	sa, sb, sc := m*k, k*n, m*n
	for s := 0; s < batch; s++ {
		gemm(e, transA, transB, m, n, k, 1, a[s*sa:], lda, b[s*sb:], ldb, 0, c[s*sc:], n)
	}
}

func matmulBackward[T Float](tp *Tape, a, b, out *Tensor, transA, transB bool, batch, m, n, k, lda, ldb int) {
	dc := Grads[T](out)
	av, bv := Values[T](a), Values[T](b)
	sa, sb, sc := m*k, k*n, m*n
	// beta is 0 when a gradient buffer is stale (logically zero): every
	// element is written, so the GEMM overwrites instead of clearing first.
	if a.requiresGrad {
		da, beta := gradForOverwrite[T](tp, a)
		for s := 0; s < batch; s++ {
			if !transA { // dA [M,K] = dC [M,N] · op(B)^T
				gemm(tp.eng, false, !transB, m, k, n, 1, dc[s*sc:], n, bv[s*sb:], ldb, beta, da[s*sa:], lda)
			} else { // dA [K,M] = op(B) [K,N] · dC^T
				gemm(tp.eng, transB, true, k, m, n, 1, bv[s*sb:], ldb, dc[s*sc:], n, beta, da[s*sa:], lda)
			}
		}
	}
	if b.requiresGrad {
		db, beta := gradForOverwrite[T](tp, b)
		for s := 0; s < batch; s++ {
			if !transB { // dB [K,N] = op(A)^T · dC
				gemm(tp.eng, !transA, false, k, n, m, 1, av[s*sa:], lda, dc[s*sc:], n, beta, db[s*sb:], ldb)
			} else { // dB [N,K] = dC^T · op(A)
				gemm(tp.eng, true, transA, n, k, m, 1, dc[s*sc:], n, av[s*sa:], lda, beta, db[s*sb:], ldb)
			}
		}
	}
}
