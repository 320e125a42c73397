package parallel

import (
	"fmt"
	"time"
	"unsafe"

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
// A dispatcher serves one rank's goroutine. When a collective fails (a peer
// lost or stuck past the timeout), Dispatch, Combine and the backward pass
// panic with a *DispatchError, which the trainer recovers.
type ExpertParallelDispatcher struct {
	ep       Comm
	experts  int // E, over the whole group
	local    int // E/W, on this rank
	commTime time.Duration
}

// NewExpertParallelDispatcher returns the dispatcher of an MoE layer of
// numExperts experts split over ep's ranks; numExperts must be a multiple
// of ep.Size().
func NewExpertParallelDispatcher(ep Comm, numExperts int) (*ExpertParallelDispatcher, error) {
	w := ep.Size()
	if numExperts < 1 || numExperts%w != 0 {
		return nil, fmt.Errorf("parallel: %d experts do not split over %d expert-parallel ranks; use a parallel.expert_parallel that divides the experts", numExperts, w)
	}
	return &ExpertParallelDispatcher{ep: ep, experts: numExperts, local: numExperts / w}, nil
}

// CommTime returns the wall time this dispatcher has spent in collectives,
// forward and backward, since it was made.
func (d *ExpertParallelDispatcher) CommTime() time.Duration { return d.commTime }

// DispatchError is the panic value of an expert-parallel exchange that
// failed; Err is the collective's error (a *Error).
type DispatchError struct {
	Collective string // what was being exchanged
	Err        error
}

func (e *DispatchError) Error() string {
	return fmt.Sprintf("expert-parallel dispatch: %s: %v", e.Collective, e.Err)
}

func (e *DispatchError) Unwrap() error { return e.Err }

// epPlan is one Dispatch call's exchange: what Combine and both backward
// passes replay.
type epPlan struct {
	rt       *router.Routing
	width    int     // float32 values per row: D, or 2D for float64 rows
	sendRows []int   // [W] rows this rank sends to each rank (its slots, by expert)
	recvRows []int   // [W] rows it receives from each rank
	order    []int32 // [R] regrouped row j is received row order[j]
	offsets  []int   // [E/W+1] the local experts' groups in the regrouped rows
}

func (p *epPlan) Offsets() []int { return p.offsets }

// received returns R, the rows this rank's experts process.
func (p *epPlan) received() int { return len(p.order) }

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
// expert, [R, D], and the plan of the exchange.
func (d *ExpertParallelDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, layers.Plan) {
	if n := len(rt.Offsets) - 1; n != d.experts {
		panic(fmt.Sprintf("parallel.ExpertParallelDispatcher: a routing over %d experts, built for %d", n, d.experts))
	}
	w := d.ep.Size()
	mine := tp.GatherRows(x, rt.Token) // [M, D], grouped by global expert
	p := &epPlan{rt: rt, width: rowWidth(x), sendRows: make([]int, w), recvRows: make([]int, w)}
	// Tell every rank how many rows of each of its experts come from here.
	counts := make([]float32, d.experts) // [E]: kept slots per expert, the rows sent
	for e := range d.experts {
		n := rt.Offsets[e+1] - rt.Offsets[e]
		if n >= 1<<24 {
			panic(&DispatchError{Collective: "expert row counts", Err: fmt.Errorf("%d rows for expert %d cannot be counted exactly in float32", n, e)})
		}
		counts[e] = float32(n)
		p.sendRows[e/d.local] += n
	}
	perRank := make([]int, w)
	for r := range perRank {
		perRank[r] = d.local
	}
	got := make([]float32, w*d.local) // [W, E/W]: rows from rank s for local expert e
	d.exchange("expert row counts", counts, perRank, got, perRank)
	// Regroup: received rows come by source rank, then by local expert; the
	// experts want them by local expert, then by source rank.
	start := make([]int, w*d.local) // received row where (s, e)'s rows begin
	at := 0
	for s := range w {
		for e := range d.local {
			start[s*d.local+e] = at
			n := int(got[s*d.local+e])
			at += n
			p.recvRows[s] += n
		}
	}
	p.order = make([]int32, at)
	p.offsets = make([]int, d.local+1)
	j := 0
	for e := range d.local {
		p.offsets[e] = j
		for s := range w {
			for k := range int(got[s*d.local+e]) {
				p.order[j] = int32(start[s*d.local+e] + k)
				j++
			}
		}
	}
	p.offsets[d.local] = j
	out := tp.Alloc(x.DType(), append([]int{p.received()}, x.Shape()[1:]...)...) // [R, D]
	recv := tp.Alloc(x.DType(), out.Shape()...)                                  // [R, D] in arrival order
	d.exchange("token rows to the experts", bits(mine), p.scaled(p.sendRows), bits(recv), p.scaled(p.recvRows))
	permuteRows(out, recv, p.order, p.width, false)
	if tp.Record("ExpertParallelDispatch", out, func() {
		g := tp.Alloc(x.DType(), out.Shape()...) // gradient in arrival order
		permuteRows(g, out.Grad(), p.order, p.width, true)
		back := tp.Alloc(x.DType(), mine.Shape()...)
		d.exchange("gradients of the token rows", bits(g), p.scaled(p.recvRows), bits(back), p.scaled(p.sendRows))
		addInto(tp, mine, back)
	}, mine) {
		forceGrad(tp, out)
	}
	return out, p
}

// Combine sends the expert outputs out [R, D] back to the ranks their tokens
// came from and returns y [N, D], the weighted sum of each token's copies.
func (d *ExpertParallelDispatcher) Combine(tp *autograd.Tape, out *autograd.Tensor, plan layers.Plan) *autograd.Tensor {
	p, ok := plan.(*epPlan)
	if !ok {
		panic(fmt.Sprintf("parallel.ExpertParallelDispatcher.Combine: plan %T does not come from its Dispatch", plan))
	}
	m := len(p.rt.Token)
	arrival := tp.Alloc(out.DType(), out.Shape()...) // [R, D] in arrival order
	permuteRows(arrival, out, p.order, p.width, true)
	back := tp.Alloc(out.DType(), append([]int{m}, out.Shape()[1:]...)...) // [M, D] this rank's slots
	d.exchange("expert outputs back", bits(arrival), p.scaled(p.recvRows), bits(back), p.scaled(p.sendRows))
	if tp.Record("ExpertParallelCombine", back, func() {
		g := tp.Alloc(out.DType(), out.Shape()...) // gradient in arrival order
		d.exchange("gradients of the expert outputs", bits(back.Grad()), p.scaled(p.sendRows), bits(g), p.scaled(p.recvRows))
		regrouped := tp.Alloc(out.DType(), out.Shape()...)
		permuteRows(regrouped, g, p.order, p.width, false)
		addInto(tp, out, regrouped)
	}, out) {
		forceGrad(tp, back)
	}
	return tp.ScatterAddRowsWeighted(back, p.rt.Weight, p.rt.Token, p.rt.Tokens()) // [N, D]
}

// scaled returns row counts as float32 value counts.
func (p *epPlan) scaled(rows []int) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r * p.width
	}
	return out
}

// rowWidth is the float32 values of one row of x [N, D]: D, or 2D for float64.
func rowWidth(x *autograd.Tensor) int {
	d := 1
	for _, n := range x.Shape()[1:] {
		d *= n
	}
	if x.DType() == autograd.Float64 {
		return 2 * d
	}
	return d
}

// bits views t's values as float32s: the values of a float32 tensor, the bit
// halves of a float64 one. Collectives that only move data carry both.
func bits(t *autograd.Tensor) []float32 {
	if t.DType() != autograd.Float64 {
		return t.F32()
	}
	v := t.F64()
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&v[0])), 2*len(v))
}

// permuteRows sets dst row j = src row order[j] (inverse: dst row order[j] =
// src row j), rows of width float32 values of bits().
func permuteRows(dst, src *autograd.Tensor, order []int32, width int, inverse bool) {
	db, sb := bits(dst), bits(src)
	for j, o := range order {
		a, b := j, int(o)
		if inverse {
			a, b = b, a
		}
		copy(db[a*width:(a+1)*width], sb[b*width:(b+1)*width])
	}
}

// addInto adds g's values into t's gradient.
func addInto(tp *autograd.Tape, t, g *autograd.Tensor) {
	if !t.RequiresGrad() {
		return
	}
	if t.DType() == autograd.Float64 {
		dst, src := autograd.GradOf[float64](tp, t), g.F64()
		for i, v := range src {
			dst[i] += v
		}
		return
	}
	dst, src := autograd.GradOf[float32](tp, t), g.F32()
	for i, v := range src {
		dst[i] += v
	}
}

// forceGrad gives t a gradient buffer now, so that the backward pass runs
// t's op even on a rank where nothing flows into it (no rows): its peers'
// backward passes wait for this rank's exchange.
func forceGrad(tp *autograd.Tape, t *autograd.Tensor) {
	if t.DType() == autograd.Float64 {
		autograd.GradOf[float64](tp, t)
	} else {
		autograd.GradOf[float32](tp, t)
	}
}
