package parallel

import (
	"fmt"

	"github.com/moetrain/moetrain/router"
)

// epPlan is one Dispatch call's exchange: what Combine and both backward
// passes replay. Rows arrive from the peers by source rank, then by local
// expert ("arrival order"); the experts take them by local expert, then by
// source rank ("grouped order").
type epPlan struct {
	rt       *router.Routing
	width    int        // float32 values per row: D, or 2D for float64 rows
	sendVals []int      // [W] values this rank sends to each rank: its slots, by expert
	recvVals []int      // [W] values it receives from each rank
	offsets  []int      // [E/W+1] the local experts' groups in grouped order
	blocks   []rowBlock // non-empty (source rank, local expert) parts; nil when both orders agree
}

// rowBlock is the rows one source rank sends for one local expert: rows
// [arrival, arrival+rows) in arrival order, [grouped, grouped+rows) in
// grouped order.
type rowBlock struct{ arrival, grouped, rows int }

// Offsets returns the row offsets [E/W+1] of the local experts' groups.
func (p *epPlan) Offsets() []int { return p.offsets }

// rows returns R, the rows this rank's experts process.
func (p *epPlan) rows() int { return p.offsets[len(p.offsets)-1] }

// maxCount bounds the rows of one expert from one rank: counts travel as
// float32 values, exact below 2^24.
const maxCount = 1 << 24

// newPlan exchanges rt's per-expert slot counts with the group and lays
// out the rows to send and receive, of width float32 values each.
func (d *ExpertParallelDispatcher) newPlan(rt *router.Routing, width int) *epPlan {
	w, l := d.ep.Size(), d.local
	counts := make([]float32, 2*d.experts) // [E] slots per global expert, then [W, E/W] received
	sent, got := counts[:d.experts], counts[d.experts:]
	ints := make([]int, 2*w+l+1)
	p := &epPlan{rt: rt, width: width, sendVals: ints[:w:w], recvVals: ints[w : 2*w : 2*w], offsets: ints[2*w:]}
	for e := range d.experts {
		n := rt.Offsets[e+1] - rt.Offsets[e]
		if n >= maxCount {
			panic(&DispatchError{Collective: "expert row counts", Err: fmt.Errorf("%d rows for expert %d exceed the %d one exchange can count; use smaller micro-batches", n, e, maxCount)})
		}
		sent[e] = float32(n)
		p.sendVals[e/l] += n * width
	}
	d.exchange("expert row counts", sent, d.perRank, got, d.perRank)
	for i, c := range got { // got[s*l+e]: rows from rank s for local expert e
		if !(c >= 0 && c < maxCount) || c != float32(int(c)) {
			panic(&DispatchError{Collective: "expert row counts", Err: fmt.Errorf("rank %d sent %v rows for local expert %d, not a row count", i/l, c, i%l)})
		}
		p.recvVals[i/l] += int(c) * width
	}
	j := 0
	for e := range l {
		p.offsets[e] = j
		for s := range w {
			j += int(got[s*l+e])
		}
	}
	p.offsets[l] = j
	if w == 1 || l == 1 {
		return p
	}
	p.blocks = make([]rowBlock, 0, w*l)
	arrival := 0
	for s := range w {
		for e := range l {
			n := int(got[s*l+e])
			if n > 0 {
				grouped := p.offsets[e]
				for q := range s {
					grouped += int(got[q*l+e])
				}
				p.blocks = append(p.blocks, rowBlock{arrival: arrival, grouped: grouped, rows: n})
			}
			arrival += n
		}
	}
	return p
}

// regroup copies rows, float32 values of width p.width, from src in
// arrival order to dst in grouped order, or back when toArrival.
func (p *epPlan) regroup(dst, src []float32, toArrival bool) {
	for _, b := range p.blocks {
		a, g, n := b.arrival*p.width, b.grouped*p.width, b.rows*p.width
		if toArrival {
			copy(dst[a:a+n], src[g:g+n])
		} else {
			copy(dst[g:g+n], src[a:a+n])
		}
	}
}
