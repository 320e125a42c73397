//go:build mpi

package parallel

import (
	"fmt"
	"runtime"
	"time"
)

// hdrTag is the MPI tag of headers and close notices on a group's ctl
// communicator.
const hdrTag = 7

// mpiMaxChunk is the most float32 values one MPI call moves (16 MiB):
// larger buffers go in several calls, since Open MPI page-faults a fresh
// temporary buffer for each very large collective.
const mpiMaxChunk = 16 << 20 / 4

// mpiStart posts one payload operation into *r, pinning the Go memory it
// hands MPI; it runs on the progress thread.
type mpiStart func(r *mpiRequest, pin *runtime.Pinner) error

// mpiPlan turns the agreed headers [W] of a call into its payload
// operations, run one after the other. It runs on the progress thread.
type mpiPlan func(hs []header) ([]mpiStart, error)

// mpiCall is one collective call on its way through the progress thread:
// phase 0 posts the header exchange, phase 1 waits for it and checks the
// headers, phase 2 runs the payload operations.
type mpiCall struct {
	c      *mpiComm
	kind   string
	hbuf   []int64      // [W*hdrLen] headers by group rank, this rank's included
	hreqs  []mpiRequest // W-1 sends, then W-1 receives
	recvOf []int        // group rank the receive hreqs[W-1+i] is from
	got    []bool       // [W] header from group rank q arrived
	plan   mpiPlan
	hs     []header
	starts []mpiStart
	next   int
	cur    *mpiRequest // its own allocation: cgo checks the whole object a pointer argument lies in
	pin    runtime.Pinner
	phase  int
	done   chan error
}

// call runs one collective: this rank's header own, then, if every rank's
// header agrees, the payload plan builds. It returns the agreed headers.
func (c *mpiComm) call(own header, plan mpiPlan) ([]header, error) {
	c.calls++
	if c.closed {
		return nil, c.newError(own.kind, nil, "this rank already closed the communicator")
	}
	if c.fail != nil {
		return nil, c.newError(own.kind, c.fail.peers, "communicator failed earlier: "+c.fail.reason)
	}
	l := hdrLen(c.size)
	k := &mpiCall{c: c, kind: own.kind, hbuf: make([]int64, c.size*l), got: make([]bool, c.size), plan: plan,
		cur: new(mpiRequest), done: make(chan error, 1)}
	*k.cur = mpiNullRequest()
	own.encode(k.hbuf[c.rank*l:(c.rank+1)*l], c.id, c.calls)
	c.e.jobs <- &mpiTask{deadline: time.Now().Add(c.timeout), step: k.step, expire: k.expire}
	err := <-k.done
	return k.hs, err
}

// finish ends the call with err, releasing its buffers to the caller.
func (k *mpiCall) finish(err error) bool {
	k.pin.Unpin()
	k.done <- err
	return true
}

// broken marks the communicator failed and ends the call with that error.
func (k *mpiCall) broken(peers []int, reason string) bool {
	k.c.fail = &failure{peers: peers, reason: reason}
	k.pin.Unpin()
	k.done <- k.c.newError(k.kind, peers, reason)
	return true
}

// step advances the call as far as it can without blocking; it reports
// whether the call is over.
func (k *mpiCall) step() bool {
	c := k.c
	l := hdrLen(c.size)
	if k.phase == 0 {
		k.pin.Pin(&k.hbuf[0])
		own := k.hbuf[c.rank*l : (c.rank+1)*l]
		k.got[c.rank] = true
		for q := range c.size {
			if q == c.rank {
				continue
			}
			k.hreqs = append(k.hreqs, mpiNullRequest())
			if err := mpiIsend(own, q, hdrTag, c.ctl, &k.hreqs[len(k.hreqs)-1]); err != nil {
				return k.broken(nil, fmt.Sprintf("sending the header to rank %d: %v", q, err))
			}
		}
		for q := range c.size {
			if q == c.rank {
				continue
			}
			k.hreqs = append(k.hreqs, mpiNullRequest())
			k.recvOf = append(k.recvOf, q)
			if err := mpiIrecv(k.hbuf[q*l:(q+1)*l], q, hdrTag, c.ctl, &k.hreqs[len(k.hreqs)-1]); err != nil {
				return k.broken(nil, fmt.Sprintf("receiving the header of rank %d: %v", q, err))
			}
		}
		k.phase = 1
	}
	if k.phase == 1 {
		return k.stepHeaders()
	}
	return k.stepPayload()
}

// stepHeaders tests the header exchange; once complete it checks the
// headers and plans the payload.
func (k *mpiCall) stepHeaders() bool {
	c := k.c
	l := hdrLen(c.size)
	sends := c.size - 1
	all := true
	var closed []int
	for i := range k.hreqs {
		ok, err := mpiTest(&k.hreqs[i])
		if err != nil {
			return k.broken(nil, fmt.Sprintf("testing the header exchange: %v", err))
		}
		if ok && i >= sends {
			q := k.recvOf[i-sends]
			if !k.got[q] && k.hbuf[q*l+hdrComm] != c.id { // a stray from a freed communicator
				if err := mpiIrecv(k.hbuf[q*l:(q+1)*l], q, hdrTag, c.ctl, &k.hreqs[i]); err != nil {
					return k.broken(nil, fmt.Sprintf("receiving the header of rank %d: %v", q, err))
				}
				ok = false
			} else {
				k.got[q] = true
				if k.hbuf[q*l+hdrKind] == hdrClosed {
					closed = append(closed, q)
				}
			}
		}
		all = all && ok
	}
	if len(closed) > 0 {
		return k.broken(closed, fmt.Sprintf("rank(s) %v closed the communicator; every rank must issue the same collectives before closing", closed))
	}
	if !all {
		return false
	}
	k.hs = make([]header, c.size)
	for q := range c.size {
		k.hs[q] = decode(k.hbuf[q*l : (q+1)*l])
	}
	if peers, reason := agree(k.hs); reason != "" {
		return k.finish(c.newError(k.kind, peers, reason))
	}
	starts, err := k.plan(k.hs)
	if err != nil {
		return k.broken(nil, err.Error())
	}
	k.starts = starts
	k.phase = 2
	return k.stepPayload()
}

// stepPayload runs the payload operations one after the other.
func (k *mpiCall) stepPayload() bool {
	for {
		if mpiIsNullRequest(*k.cur) {
			if k.next == len(k.starts) {
				return k.finish(nil)
			}
			if err := k.starts[k.next](k.cur, &k.pin); err != nil {
				return k.broken(nil, fmt.Sprintf("payload operation %d of %d: %v", k.next+1, len(k.starts), err))
			}
			k.next++
		}
		ok, err := mpiTest(k.cur)
		if err != nil {
			return k.broken(nil, fmt.Sprintf("payload operation %d of %d: %v", k.next, len(k.starts), err))
		}
		if !ok {
			return false
		}
	}
}

// expire fails the call on its deadline, naming the ranks whose headers
// never came, and arms the watchdog: MPI cannot cancel a collective, so
// the job ends shortly after. The call's buffers stay pinned, since MPI may
// still write them.
func (k *mpiCall) expire() {
	c := k.c
	var missing []int
	for q, ok := range k.got {
		if !ok {
			missing = append(missing, q)
		}
	}
	reason := fmt.Sprintf("rank(s) %v did not join within the timeout of %v; "+
		"a peer is stuck, died or issues collectives in a different order (raise parallel.timeout only if it is merely slow)",
		missing, c.timeout)
	if k.phase == 2 {
		reason = fmt.Sprintf("every rank joined but the payload did not arrive within the timeout of %v; a peer stopped mid-transfer", c.timeout)
	}
	reason += fmt.Sprintf("; MPI cannot cancel a collective, so the job ends with MPI_Abort in %v", mpiAbortGrace)
	c.fail = &failure{peers: missing, reason: reason}
	err := c.newError(k.kind, missing, reason)
	time.AfterFunc(mpiAbortGrace, func() { abortJob(err.Error()) })
	k.done <- err
}
