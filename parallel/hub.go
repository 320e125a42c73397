package parallel

import (
	"fmt"
	"sync"
	"time"
)

// slot is what one rank brings to a rendezvous: its collective, arguments
// and buffers, which the other ranks read after the round completes.
type slot struct {
	kind       string
	op         Op
	root       int
	send, recv []float32
	sendCounts []int
	recvCounts []int
	color, key int
}

// round is one rendezvous of every rank of a group. done is closed once all
// ranks arrived; slots are then read-only until the group's next round
// completes. out carries values a rank publishes between two rounds (Split:
// the leader's new hub), indexed by group rank.
type round struct {
	slots   []slot
	count   int
	done    chan struct{}
	scratch []float32 // AllReduce: [L] shared result, sized by the last arriver
	out     []*hub
}

// failure is why a group can no longer meet: the peers at fault and a reason.
type failure struct {
	peers  []int
	reason string
}

// hub is the meeting point of one group of the local backend. members holds
// the world ranks of the group, by group rank.
type hub struct {
	members []int
	timeout time.Duration

	mu      sync.Mutex
	cur     *round
	scratch []float32
	fail    *failure      // set once; the group is unusable after
	aborted chan struct{} // closed when fail is set
}

func newHub(members []int, timeout time.Duration) *hub {
	return &hub{members: members, timeout: timeout, cur: newRound(len(members)), aborted: make(chan struct{})}
}

func newRound(n int) *round {
	return &round{slots: make([]slot, n), done: make(chan struct{}), out: make([]*hub, n)}
}

// failLocked records f as the group's failure unless one is recorded already.
// h.mu must be held.
func (h *hub) failLocked(f *failure) {
	if h.fail == nil {
		h.fail = f
		close(h.aborted)
	}
}

// closeRank records that group rank r closed its handle.
func (h *hub) closeRank(r int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failLocked(&failure{peers: []int{r}, reason: fmt.Sprintf("rank %d closed its communicator; "+
		"every rank must issue the same collectives before closing", r)})
}

// meet posts s as group rank r's part of the current round and waits until
// every rank has posted, the deadline passes, or the group fails. It returns
// the completed round or the failure.
func (h *hub) meet(r int, s slot, deadline time.Time) (*round, *failure) {
	h.mu.Lock()
	if h.fail != nil {
		f := h.fail
		h.mu.Unlock()
		return nil, &failure{peers: f.peers, reason: "communicator failed earlier: " + f.reason}
	}
	rd := h.cur
	rd.slots[r] = s
	rd.count++
	if rd.count == len(rd.slots) {
		if s.kind == kindAllReduce {
			h.sizeScratch(rd)
		}
		h.cur = newRound(len(rd.slots))
		close(rd.done)
	}
	h.mu.Unlock()

	select {
	case <-rd.done:
		return rd, nil
	default:
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-rd.done:
		return rd, nil
	case <-h.aborted:
	case <-timer.C:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if rd.count == len(rd.slots) { // completed as the timer fired
		return rd, nil
	}
	var missing []int
	for q := range rd.slots {
		if rd.slots[q].kind == "" {
			missing = append(missing, q)
		}
	}
	h.failLocked(&failure{peers: missing, reason: fmt.Sprintf("rank(s) %v did not join within the timeout of %v; "+
		"a peer is stuck, died or issues collectives in a different order (raise parallel.timeout only if it is merely slow)",
		missing, h.timeout)})
	return nil, h.fail
}

// sizeScratch gives the completed AllReduce round rd a shared result buffer
// as long as the longest buf posted. h.mu must be held.
func (h *hub) sizeScratch(rd *round) {
	n := 0
	for _, s := range rd.slots {
		n = max(n, len(s.send))
	}
	if cap(h.scratch) < n {
		h.scratch = make([]float32, n)
	}
	rd.scratch = h.scratch[:n]
}
