package layers

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// Dispatcher moves token copies to experts and back: the second and fourth of
// the MoE layer's four steps. The local dispatcher permutes within one
// process; an expert-parallel dispatcher (package parallel) also exchanges the
// permuted rows between ranks. Only Dispatch and Combine may communicate.
//
// A Dispatcher keeps no per-call state: what Combine and the backward pass
// need travels in the Plan, so one dispatcher may serve any number of calls
// on one tape (a layer applied twice, several layers).
type Dispatcher interface {
	// Dispatch returns the routed copies of x [N, D] following the routing's
	// slot table, grouped by local expert, [M, D], and the plan of this call.
	Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (permuted *autograd.Tensor, plan Plan)
	// Combine returns y [N, D] with y[n] = sum over n's kept slots of
	// weight * out[slot], where out [M, D] is in the order of the Dispatch
	// that returned plan.
	Combine(tp *autograd.Tape, out *autograd.Tensor, plan Plan) *autograd.Tensor
}

// Plan is one Dispatch call's record, handed to the experts and to Combine.
// Each dispatcher has its own concrete plan type.
type Plan interface {
	// Offsets returns the row offsets [E_local+1] of each local expert's
	// group in the permuted rows.
	Offsets() []int
}

// LocalDispatcher permutes tokens within one process, following the
// routing's slot table. It has no state; its zero value is ready.
type LocalDispatcher struct{}

// localPlan is LocalDispatcher's Plan: the routing itself.
type localPlan struct{ rt *router.Routing }

func (p localPlan) Offsets() []int { return p.rt.Offsets }

// Dispatch gathers the rows of x [N, D] in slot order, [M, D].
func (LocalDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, Plan) {
	return tp.GatherRows(x, rt.Token), localPlan{rt}
}

// Combine weights each expert output row of out [M, D] by its slot's routing
// weight and sums the copies of each token, [N, D]. It panics if plan does
// not come from LocalDispatcher.Dispatch.
func (LocalDispatcher) Combine(tp *autograd.Tape, out *autograd.Tensor, plan Plan) *autograd.Tensor {
	p, ok := plan.(localPlan)
	if !ok {
		panic(fmt.Sprintf("layers.LocalDispatcher.Combine: plan %T does not come from LocalDispatcher.Dispatch", plan))
	}
	return tp.ScatterAddRowsWeighted(out, p.rt.Weight, p.rt.Token, p.rt.Tokens()) // [N, D]
}
