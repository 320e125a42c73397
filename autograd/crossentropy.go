package autograd

import "fmt"

// CrossEntropy returns the mean negative log-likelihood of targets under
// softmax(logits) as a [1] tensor, fused so that no [N, V] probability tensor
// is stored: logits [..., V] hold N = Len/V rows and targets holds N class
// ids. Rows whose target equals ignoreIndex are skipped and do not count in
// the mean; if every row is ignored the loss is 0 and so is its gradient.
// targets is kept for Backward and must not change before it. It panics on a
// 0-D logits, len(targets) != N, or a target outside [0, V) that
// is not ignoreIndex.
func (tp *Tape) CrossEntropy(logits *Tensor, targets []int32, ignoreIndex int32) *Tensor {
	rows, cols := nnRows("CrossEntropy", logits)
	if cols == 0 || len(targets) != rows {
		panic(fmt.Sprintf("autograd.CrossEntropy: %d targets for logits %v", len(targets), logits.shape))
	}
	count := 0
	for i, t := range targets {
		if t == ignoreIndex {
			continue
		}
		if t < 0 || int(t) >= cols {
			panic(fmt.Sprintf("autograd.CrossEntropy: target %d at row %d is outside [0, %d) and is not the ignore index %d", t, i, cols, ignoreIndex))
		}
		count++
	}
	out := tp.alloc(logits.dtype, 1)
	lse := tp.alloc(Float64, rows) // [N] log-sum-exp of each counted row
	if logits.dtype == Float64 {
		nnCrossEntropyOp[float64](tp, logits, out, lse.f64, targets, ignoreIndex, cols, count)
	} else {
		nnCrossEntropyOp[float32](tp, logits, out, lse.f64, targets, ignoreIndex, cols, count)
	}
	return out
}

func nnCrossEntropyOp[T Float](tp *Tape, logits, out *Tensor, lse []float64, targets []int32, ignore int32, cols, count int) {
	xv := Values[T](logits)
	tp.eng.parallelFor(len(targets), 4*cols, func(lo, hi int) {
		var buf []T // exponentials of one row
		for r := lo; r < hi; r++ {
			if targets[r] != ignore {
				lse[r] = nnLogSumExpRow(xv[r*cols:(r+1)*cols], &buf)
			}
		}
	})
	var sum float64 // in row order, so the loss does not depend on scheduling
	for r, t := range targets {
		if t != ignore {
			sum += lse[r] - float64(xv[r*cols+int(t)])
		}
	}
	if count > 0 {
		Values[T](out)[0] = T(sum / float64(count))
	}
	tp.record("CrossEntropy", out, func() {
		if count == 0 {
			return
		}
		scale := float64(Grads[T](out)[0]) / float64(count)
		dx := gradOf[T](tp, logits)
		tp.eng.parallelFor(len(targets), 8*cols, func(lo, hi int) {
			probs := make([]T, cols) // softmax of one row
			for r := lo; r < hi; r++ {
				t := targets[r]
				if t == ignore {
					continue
				}
				// d loss / d x = (softmax(x) - onehot(t)) · scale
				xr, dxr, s := xv[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols], T(scale)
				nnExpShift(probs, xr, T(lse[r]))
				for i, p := range probs {
					dxr[i] += s * p
				}
				dxr[t] -= s
			}
		})
	}, logits)
}
