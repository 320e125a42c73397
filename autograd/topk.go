package autograd

import "fmt"

// nnTopKInsertMax is the largest k selected by insertion into the sorted
// output; larger k use a heap.
const nnTopKInsertMax = 16

// TopK returns the k largest elements of each row of x [..., C] as values
// [..., k] sorted in descending order, and their column indices (row-major
// [R, k] for R rows, a new slice owned by the caller). Equal values are
// ordered by lower index first, and NaN ranks above every number. The
// gradient of values flows to the selected positions of x; indices carry
// none. It panics on a 0-D x or unless 1 <= k <= C.
func (tp *Tape) TopK(x *Tensor, k int) (*Tensor, []int32) {
	if len(x.shape) == 0 {
		panic("autograd.TopK: 0-D tensor has no last axis")
	}
	cols := x.shape[len(x.shape)-1]
	if k < 1 || k > cols {
		panic(fmt.Sprintf("autograd.TopK: k = %d outside [1, %d] for x %v", k, cols, x.shape))
	}
	rows := x.Len() / cols
	shape := append(append(make([]int, 0, len(x.shape)), x.shape[:len(x.shape)-1]...), k)
	out := tp.allocDirty(x.dtype, shape...)
	idx := make([]int32, rows*k)
	if x.dtype == Float64 {
		nnTopKOp[float64](tp, x, out, idx, rows, cols, k)
	} else {
		nnTopKOp[float32](tp, x, out, idx, rows, cols, k)
	}
	return out, idx
}

func nnTopKOp[T Float](tp *Tape, x, out *Tensor, idx []int32, rows, cols, k int) {
	xv, ov := Values[T](x), Values[T](out)
	tp.eng.parallelFor(rows, 4*cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, vr, ir := xv[r*cols:(r+1)*cols], ov[r*k:(r+1)*k], idx[r*k:(r+1)*k]
			if k <= nnTopKInsertMax {
				nnTopKInsert(xr, vr, ir)
			} else {
				nnTopKHeap(xr, vr, ir)
			}
		}
	})
	tp.record("TopK", out, func() { nnScatterAlongRows(tp.eng, gradOf[T](tp, x), Grads[T](out), idx, rows, cols, k) }, x)
}

// nnTopKBefore reports whether value a at column ai ranks before value b at
// column bi: larger first, NaN above numbers, ties to the lower column.
func nnTopKBefore[T Float](a T, ai int32, b T, bi int32) bool {
	switch an, bn := a != a, b != b; {
	case an || bn:
		if an && bn {
			return ai < bi
		}
		return an
	case a != b:
		return a > b
	}
	return ai < bi
}

// nnTopKInsert keeps vals/ids (length k) as the sorted best of the columns
// seen so far, inserting each column of x in turn: O(C·k), fast for the small
// k of routing.
func nnTopKInsert[T Float](x, vals []T, ids []int32) {
	k, n := len(vals), 0
	for c, v := range x {
		ci := int32(c)
		if n == k && !nnTopKBefore(v, ci, vals[k-1], ids[k-1]) {
			continue
		}
		j := min(n, k-1) // the slot freed at the end, then shift down
		for j > 0 && nnTopKBefore(v, ci, vals[j-1], ids[j-1]) {
			vals[j], ids[j] = vals[j-1], ids[j-1]
			j--
		}
		vals[j], ids[j] = v, ci
		n = min(n+1, k)
	}
}

// nnTopKHeap selects with a heap of the best k seen so far, kept in
// vals/ids with the worst-ranked at the root, so most columns cost one
// comparison; a final heapsort leaves vals/ids ordered best first. O(C log k).
func nnTopKHeap[T Float](x, vals []T, ids []int32) {
	k := len(vals)
	for c := range k { // heapify the first k columns
		vals[c], ids[c] = x[c], int32(c)
	}
	for i := k/2 - 1; i >= 0; i-- {
		nnTopKSiftDown(vals, ids, i, k)
	}
	for c := k; c < len(x); c++ {
		if v, ci := x[c], int32(c); nnTopKBefore(v, ci, vals[0], ids[0]) {
			vals[0], ids[0] = v, ci
			nnTopKSiftDown(vals, ids, 0, k)
		}
	}
	for n := k - 1; n > 0; n-- { // move the worst to the end, repeatedly
		vals[0], vals[n] = vals[n], vals[0]
		ids[0], ids[n] = ids[n], ids[0]
		nnTopKSiftDown(vals, ids, 0, n)
	}
}

// nnTopKSiftDown restores the heap property below node i of the heap
// vals[:n] whose parents rank after (are worse than) their children.
func nnTopKSiftDown[T Float](vals []T, ids []int32, i, n int) {
	for {
		w := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < n && nnTopKBefore(vals[w], ids[w], vals[c], ids[c]) {
				w = c
			}
		}
		if w == i {
			return
		}
		vals[i], vals[w] = vals[w], vals[i]
		ids[i], ids[w] = ids[w], ids[i]
		i = w
	}
}
