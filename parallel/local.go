package parallel

import (
	"fmt"
	"time"
)

// DefaultTimeout bounds every collective when LocalOptions.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

// LocalOptions configures NewLocal.
type LocalOptions struct {
	// Timeout bounds each collective call; zero means DefaultTimeout.
	Timeout time.Duration
}

// NewLocal returns the world communicators of world ranks that run as
// goroutines of this process and exchange data through shared memory:
// comms[r] is rank r's handle, to be used by rank r's goroutine only.
func NewLocal(world int, opts LocalOptions) ([]Comm, error) {
	if world < 1 {
		return nil, fmt.Errorf("parallel: local world size %d: need at least 1 rank (set parallel.world_size >= 1)", world)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("parallel: local timeout %v is negative: give a positive duration, or 0 for the default %v", timeout, DefaultTimeout)
	}
	members := make([]int, world)
	for r := range members {
		members[r] = r
	}
	h := newHub(members, timeout)
	comms := make([]Comm, world)
	for r := range comms {
		comms[r] = &localComm{h: h, rank: r}
	}
	return comms, nil
}

// localComm is one rank's handle on a hub.
type localComm struct {
	h        *hub
	rank     int
	calls    int
	closed   bool
	children []*localComm
}

// Rank is this rank's index in the group.
func (c *localComm) Rank() int { return c.rank }

// Size is the number of ranks in the group.
func (c *localComm) Size() int { return len(c.h.members) }

// newError builds the *Error for this rank's current call.
func (c *localComm) newError(kind string, peers []int, reason string) *Error {
	return &Error{Rank: c.rank, Group: c.h.members, Collective: kind, Call: c.calls, Peers: peers, Reason: reason}
}

// begin opens call number c.calls+1 and returns its deadline, or an error if
// this handle is closed.
func (c *localComm) begin(kind string) (time.Time, error) {
	c.calls++
	if c.closed {
		return time.Time{}, c.newError(kind, nil, "this rank already closed the communicator")
	}
	return time.Now().Add(c.h.timeout), nil
}

// meet posts s and waits for the round, then checks that every rank posted
// matching arguments.
func (c *localComm) meet(s slot, deadline time.Time) (*round, error) {
	rd, f := c.h.meet(c.rank, s, deadline)
	if f != nil {
		return nil, c.newError(s.kind, f.peers, f.reason)
	}
	if peers, reason := validate(rd.slots); reason != "" {
		return nil, c.newError(s.kind, peers, reason)
	}
	return rd, nil
}

// finish is the closing round of a call: no rank returns, and so reuses its
// buffers, before every rank has finished reading the others'.
func (c *localComm) finish(kind string, deadline time.Time) error {
	_, f := c.h.meet(c.rank, slot{kind: kind + " completion"}, deadline)
	if f != nil {
		return c.newError(kind, f.peers, f.reason)
	}
	return nil
}

// AllReduce reduces buf [L] across the group in rank order, in place. Rank r
// reduces part r of the elements into a shared buffer; after a round every
// rank copies the whole result.
func (c *localComm) AllReduce(buf []float32, op Op) error {
	deadline, err := c.begin(kindAllReduce)
	if err != nil {
		return err
	}
	rd, err := c.meet(slot{kind: kindAllReduce, op: op, send: buf}, deadline)
	if err != nil {
		return err
	}
	lo, hi := part(len(buf), c.Size(), c.rank)
	reduceInto(rd.scratch[lo:hi], rd.slots, lo, op)
	if err := c.finish(kindAllReduce, deadline); err != nil {
		return err
	}
	copy(buf, rd.scratch)
	return nil
}

// AllGather concatenates every rank's send [L] into recv [W*L].
func (c *localComm) AllGather(send, recv []float32) error {
	deadline, err := c.begin(kindAllGather)
	if err != nil {
		return err
	}
	rd, err := c.meet(slot{kind: kindAllGather, send: send, recv: recv}, deadline)
	if err != nil {
		return err
	}
	for s := range rd.slots {
		copy(recv[s*len(send):], rd.slots[s].send)
	}
	return c.finish(kindAllGather, deadline)
}

// ReduceScatter reduces part r [L] of every rank's send [W*L] into rank r's
// recv [L].
func (c *localComm) ReduceScatter(send, recv []float32, op Op) error {
	deadline, err := c.begin(kindReduceScatter)
	if err != nil {
		return err
	}
	rd, err := c.meet(slot{kind: kindReduceScatter, op: op, send: send, recv: recv}, deadline)
	if err != nil {
		return err
	}
	reduceInto(recv, rd.slots, c.rank*len(recv), op)
	return c.finish(kindReduceScatter, deadline)
}

// AllToAllV moves sendCounts[d] values to each rank d and receives
// recvCounts[s] values from each rank s, both in rank order.
func (c *localComm) AllToAllV(send []float32, sendCounts []int, recv []float32, recvCounts []int) error {
	deadline, err := c.begin(kindAllToAllV)
	if err != nil {
		return err
	}
	rd, err := c.meet(slot{kind: kindAllToAllV, send: send, recv: recv, sendCounts: sendCounts, recvCounts: recvCounts}, deadline)
	if err != nil {
		return err
	}
	at := 0
	for s, src := range rd.slots {
		off := 0
		for d := range c.rank {
			off += src.sendCounts[d]
		}
		n := src.sendCounts[c.rank]
		copy(recv[at:at+n], src.send[off:off+n])
		at += recvCounts[s]
	}
	return c.finish(kindAllToAllV, deadline)
}

// Broadcast copies root's buf [L] into every rank's buf.
func (c *localComm) Broadcast(buf []float32, root int) error {
	deadline, err := c.begin(kindBroadcast)
	if err != nil {
		return err
	}
	rd, err := c.meet(slot{kind: kindBroadcast, send: buf, root: root}, deadline)
	if err != nil {
		return err
	}
	if c.rank != root {
		copy(buf, rd.slots[root].send)
	}
	return c.finish(kindBroadcast, deadline)
}

// Barrier waits until every rank has called it.
func (c *localComm) Barrier() error {
	deadline, err := c.begin(kindBarrier)
	if err != nil {
		return err
	}
	_, err = c.meet(slot{kind: kindBarrier}, deadline)
	return err
}

// Close closes the groups split from this handle, then this handle; peers
// waiting on this rank fail at once naming it.
func (c *localComm) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	for _, ch := range c.children {
		_ = ch.Close() // never fails
	}
	c.h.closeRank(c.rank)
	return nil
}

// part is the range [lo, hi) of n elements that rank r of w reduces.
func part(n, w, r int) (lo, hi int) {
	return n * r / w, n * (r + 1) / w
}

// reduceInto sets out[i] to the op over all slots of send[off+i], adding in
// rank order so every element's result is the same whichever rank computes
// it.
func reduceInto(out []float32, slots []slot, off int, op Op) {
	copy(out, slots[0].send[off:off+len(out)])
	for _, s := range slots[1:] {
		src := s.send[off : off+len(out)]
		for i := range out {
			out[i] += src[i]
		}
	}
	if op == Avg {
		w := float32(len(slots))
		for i := range out {
			out[i] /= w
		}
	}
}
