package parallel

import (
	"fmt"
	"slices"
)

// Op is the reduction an AllReduce or ReduceScatter applies element-wise.
type Op int

const (
	// Sum adds the ranks' values in rank order.
	Sum Op = iota
	// Avg is Sum divided by the group size.
	Avg
)

// String names the op as errors print it.
func (o Op) String() string {
	switch o {
	case Sum:
		return "Sum"
	case Avg:
		return "Avg"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Comm is one rank's handle on a group of ranks. See the package
// documentation for the contracts every method keeps.
type Comm interface {
	// Rank is this rank's index in the group, 0 <= Rank() < Size().
	Rank() int
	// Size is the number of ranks in the group.
	Size() int
	// AllReduce replaces buf [L] on every rank with the element-wise op of
	// all ranks' buf; L must match across ranks.
	AllReduce(buf []float32, op Op) error
	// AllGather fills recv [W*L] with every rank's send [L], rank r's at
	// recv[r*L:(r+1)*L].
	AllGather(send, recv []float32) error
	// ReduceScatter reduces send [W*L] across ranks and leaves part r,
	// elements [r*L, (r+1)*L), in rank r's recv [L].
	ReduceScatter(send, recv []float32, op Op) error
	// AllToAllV sends sendCounts[d] values to each rank d, taken from send
	// in rank order, and receives recvCounts[s] values from each rank s,
	// placed in recv in rank order. sendCounts and recvCounts have length W;
	// counts may be zero and uneven, and rank s's sendCounts[r] must equal
	// rank r's recvCounts[s]. send and recv may be longer than the counts'
	// sums; the tail of recv is left untouched.
	AllToAllV(send []float32, sendCounts []int, recv []float32, recvCounts []int) error
	// Broadcast copies root's buf [L] into every other rank's buf.
	Broadcast(buf []float32, root int) error
	// Barrier returns once every rank of the group has called it.
	Barrier() error
	// Split partitions the group: ranks that pass the same color form a new
	// group, ranked by key and then by their rank here. A negative color
	// joins no group and gets a nil Comm. Every rank of the group must call
	// Split.
	Split(color, key int) (Comm, error)
	// Close releases this rank's handle and the groups split from it. Peers
	// still waiting on this rank, or calling later, fail with an error that
	// names it. Close is idempotent.
	Close() error
}

// Error is the error every collective returns when it cannot complete.
type Error struct {
	Rank       int    // this rank's index in the group
	Group      []int  // the group's members as world ranks, by group rank
	Collective string // AllReduce, AllToAllV, Split, ...
	Call       int    // 1-based count of collectives this rank issued on the group
	Peers      []int  // group ranks at fault: missing, closed or disagreeing
	Reason     string // what went wrong and what to do about it
}

// Error formats the failure with the rank, the collective and the peers.
func (e *Error) Error() string {
	return fmt.Sprintf("parallel: rank %d of group %v: %s (call %d): %s",
		e.Rank, e.Group, e.Collective, e.Call, e.Reason)
}

// HasPeer reports whether group rank r is among the ranks at fault.
func (e *Error) HasPeer(r int) bool { return slices.Contains(e.Peers, r) }
