package parallel

import (
	"fmt"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// ExpertParallelDispatcher is the layers.Dispatcher of expert parallelism:
// the E experts of an MoE layer are split over the ranks of an EP group,
// rank r holding the contiguous global experts [r*E/W, (r+1)*E/W), and each
// rank routes its own tokens over all E. Dispatch permutes this rank's token
// copies by expert (as layers.LocalDispatcher does), exchanges the per-expert
// row counts, sends each expert's rows to the rank holding it (AllToAllV) and
// regroups what arrives by local expert; Combine sends the expert outputs
// back the same way and adds them, weighted, into the tokens' rows. The
// backward pass runs the same exchanges in reverse. Every rank issues the
// same collectives in the same order, with zero-length parts when it has no
// rows for a rank or holds none; rows of float64 tensors travel bit for bit
// as pairs of float32 values.
//
// Everything a call needs later travels in its Plan, so one dispatcher
// serves any number of calls on one tape. A dispatcher serves one rank's
// goroutine. When a collective fails (a peer lost or stuck past the
// timeout), Dispatch, Combine and the backward pass panic with a
// *DispatchError, which the trainer recovers.
type ExpertParallelDispatcher struct {
	ep       Comm
	experts  int   // E, over the whole group
	local    int   // E/W, on this rank
	perRank  []int // [W] E/W: the count exchange's counts, never written
	commTime time.Duration
}

// NewExpertParallelDispatcher returns the dispatcher of an MoE layer of
// numExperts experts split over ep's ranks; numExperts must be a multiple
// of ep.Size().
func NewExpertParallelDispatcher(ep Comm, numExperts int) (*ExpertParallelDispatcher, error) {
	if ep == nil {
		return nil, fmt.Errorf("parallel: expert-parallel dispatcher without a communicator: pass the expert-parallel group's Comm")
	}
	w := ep.Size()
	if numExperts < 1 || numExperts%w != 0 {
		return nil, fmt.Errorf("parallel: %d experts do not split over %d expert-parallel ranks; use a parallel.expert_parallel that divides the experts", numExperts, w)
	}
	perRank := make([]int, w)
	for r := range perRank {
		perRank[r] = numExperts / w
	}
	return &ExpertParallelDispatcher{ep: ep, experts: numExperts, local: numExperts / w, perRank: perRank}, nil
}

// CommTime returns the wall time this dispatcher has spent in collectives,
// forward and backward, since it was made.
func (d *ExpertParallelDispatcher) CommTime() time.Duration { return d.commTime }

// exchange runs one AllToAllV, timed, and panics with a DispatchError on
// failure.
func (d *ExpertParallelDispatcher) exchange(what string, send []float32, sendCounts []int, recv []float32, recvCounts []int) {
	start := time.Now()
	err := d.ep.AllToAllV(send, sendCounts, recv, recvCounts)
	d.commTime += time.Since(start)
	if err != nil {
		panic(&DispatchError{Collective: what, Err: err})
	}
}

// Dispatch returns the rows this rank's experts process, grouped by local
// expert, [R, D], and the plan of the exchange. It panics if rt does not
// route over the dispatcher's E experts.
func (d *ExpertParallelDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, layers.Plan) {
	if n := len(rt.Offsets) - 1; n != d.experts {
		panic(fmt.Sprintf("parallel.ExpertParallelDispatcher: a routing over %d experts, built for %d", n, d.experts))
	}
	p := d.newPlan(rt, rowLen(x))
	mine := tp.GatherRows(x, rt.Token) // [M, D], grouped by global expert
	shape := append([]int{p.rows()}, x.Shape()[1:]...)
	out := tp.Alloc(x.DType(), shape...) // [R, D] grouped by local expert
	if p.blocks == nil {
		d.exchange("token rows to the experts", bits(mine), p.sendVals, bits(out), p.recvVals)
	} else {
		arrival := tp.Alloc(x.DType(), shape...) // [R, D] in arrival order
		d.exchange("token rows to the experts", bits(mine), p.sendVals, bits(arrival), p.recvVals)
		p.regroup(bits(out), bits(arrival), false)
	}
	if tp.Record("ExpertParallelDispatch", out, func() {
		send := gradBits(tp, out)
		if p.blocks != nil {
			g := tp.Alloc(x.DType(), shape...) // out's gradient in arrival order
			p.regroup(bits(g), send, true)
			send = bits(g)
		}
		// mine is this op's own intermediate: no other op adds into its
		// gradient, so the exchange writes it directly.
		d.exchange("gradients of the token rows", send, p.recvVals, gradBits(tp, mine), p.sendVals)
	}, mine) {
		forceGrad(tp, out)
	}
	return out, p
}

// Combine sends the expert outputs out [R, D] back to the ranks their tokens
// came from and returns y [N, D], the weighted sum of each token's copies.
// It panics if plan does not come from an ExpertParallelDispatcher's
// Dispatch.
func (d *ExpertParallelDispatcher) Combine(tp *autograd.Tape, out *autograd.Tensor, plan layers.Plan) *autograd.Tensor {
	p, ok := plan.(*epPlan)
	if !ok {
		panic(fmt.Sprintf("parallel.ExpertParallelDispatcher.Combine: plan %T does not come from its Dispatch", plan))
	}
	send := bits(out)
	if p.blocks != nil {
		arrival := tp.Alloc(out.DType(), out.Shape()...) // [R, D] in arrival order
		p.regroup(bits(arrival), send, true)
		send = bits(arrival)
	}
	back := tp.Alloc(out.DType(), append([]int{len(p.rt.Token)}, out.Shape()[1:]...)...) // [M, D] this rank's slots
	d.exchange("expert outputs back", send, p.recvVals, bits(back), p.sendVals)
	if tp.Record("ExpertParallelCombine", back, func() {
		gb := gradBits(tp, back)
		if p.blocks == nil && !out.HasGrad() {
			// Nothing else has added into out's gradient yet: receive
			// straight into it.
			d.exchange("gradients of the expert outputs", gb, p.sendVals, gradBits(tp, out), p.recvVals)
			return
		}
		g := tp.Alloc(out.DType(), out.Shape()...) // [R, D] in arrival order
		d.exchange("gradients of the expert outputs", gb, p.sendVals, bits(g), p.recvVals)
		addArrival(tp, out, g, p)
	}, out) {
		forceGrad(tp, back)
	}
	return tp.ScatterAddRowsWeighted(back, p.rt.Weight, p.rt.Token, p.rt.Tokens()) // [N, D]
}
