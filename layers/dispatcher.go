package layers

import (
	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Dispatcher moves token copies to experts and back: the second and fourth of
// the MoE layer's four steps. The local dispatcher permutes within one
// process; an expert-parallel dispatcher (package parallel) also exchanges the
// permuted rows between ranks. Only Dispatch and Combine may communicate.
type Dispatcher interface {
	// Dispatch returns the routed copies of x [N, D] grouped by expert,
	// [M, D], and the row offsets [E+1] of each local expert's group.
	Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (permuted *autograd.Tensor, offsets []int)
	// Combine returns y [N, D] with y[n] = sum over n's kept slots of
	// weight * out[slot], where out [M, D] is in Dispatch's order.
	Combine(tp *autograd.Tape, out *autograd.Tensor, rt *router.Routing) *autograd.Tensor
}

// LocalDispatcher permutes tokens within one process. It keeps its index
// buffer between steps; one instance serves one MoE layer.
type LocalDispatcher struct {
	tokenOf []int32 // [M] token index of each permuted row
}

// Dispatch gathers x's rows in the routing's expert order.
func (d *LocalDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, []int) {
	k := len(rt.Experts) / x.Dim(0)
	d.tokenOf = d.tokenOf[:0]
	for _, slot := range rt.Order {
		d.tokenOf = append(d.tokenOf, slot/int32(k))
	}
	return tp.GatherRows(x, d.tokenOf), rt.Offsets // [M, D]
}

// Combine weights each expert output by its slot's routing weight and sums
// the copies of each token.
func (d *LocalDispatcher) Combine(tp *autograd.Tape, out *autograd.Tensor, rt *router.Routing) *autograd.Tensor {
	n := rt.Weights.Dim(0)
	slots := tp.Reshape(rt.Weights, rt.Weights.Len(), 1)   // [N*K, 1]
	w := tp.GatherRows(slots, rt.Order)                    // [M, 1]
	return tp.ScatterAddRowsWeighted(out, w, d.tokenOf, n) // [N, D]
}
