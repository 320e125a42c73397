package autograd

import "fmt"

// Embedding looks up one row of table [V, D] per id: out [len(ids), D] with
// out[i] = table[ids[i]]. Its gradient is scattered back into the rows of
// table that were used (summed over repeated ids). ids is kept for Backward
// and must not change before it. It panics unless table is 2-D and every id
// lies in [0, V).
func (tp *Tape) Embedding(table *Tensor, ids []int32) *Tensor {
	if len(table.shape) != 2 {
		panic(fmt.Sprintf("autograd.Embedding: table must be [V, D], got %v", table.shape))
	}
	return tp.nnGatherRows("Embedding", table, ids)
}
