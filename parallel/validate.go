package parallel

import "fmt"

// Collective names, as errors print them.
const (
	kindAllReduce     = "AllReduce"
	kindAllGather     = "AllGather"
	kindReduceScatter = "ReduceScatter"
	kindAllToAllV     = "AllToAllV"
	kindBroadcast     = "Broadcast"
	kindBarrier       = "Barrier"
	kindSplit         = "Split"
)

// validate checks that the slots of a completed round agree: one collective,
// one op and root, and lengths and counts that fit together. It returns the
// group ranks at fault and a reason, or an empty reason. Every rank runs it
// on the same slots and so reaches the same verdict.
func validate(slots []slot) ([]int, string) {
	w := len(slots)
	s0 := slots[0]
	for r, s := range slots {
		if s.kind != s0.kind {
			return []int{0, r}, fmt.Sprintf("rank %d called %s while rank 0 called %s; "+
				"every rank must issue the same collectives in the same order", r, s.kind, s0.kind)
		}
	}
	switch s0.kind {
	case kindAllReduce, kindReduceScatter:
		for r, s := range slots {
			if s.op != Sum && s.op != Avg {
				return []int{r}, fmt.Sprintf("rank %d passed unknown op %v; use parallel.Sum or parallel.Avg", r, s.op)
			}
			if s.op != s0.op {
				return []int{0, r}, fmt.Sprintf("rank %d passed op %v but rank 0 passed %v", r, s.op, s0.op)
			}
		}
	}
	switch s0.kind {
	case kindAllReduce, kindBroadcast, kindAllGather:
		if peers, reason := sameLen(slots, "buffer"); reason != "" {
			return peers, reason
		}
	}
	switch s0.kind {
	case kindAllGather:
		for r, s := range slots {
			if len(s.recv) != w*len(s.send) {
				return []int{r}, fmt.Sprintf("rank %d passed recv of length %d for send of length %d; "+
					"recv must hold group size %d x %d values", r, len(s.recv), len(s.send), w, len(s.send))
			}
		}
	case kindReduceScatter:
		for r, s := range slots {
			if len(s.send) != w*len(s.recv) {
				return []int{r}, fmt.Sprintf("rank %d passed send of length %d for recv of length %d; "+
					"send must hold group size %d x %d values", r, len(s.send), len(s.recv), w, len(s.recv))
			}
			if len(s.recv) != len(s0.recv) {
				return []int{0, r}, fmt.Sprintf("rank %d passed recv of length %d but rank 0 passed %d", r, len(s.recv), len(s0.recv))
			}
		}
	case kindBroadcast:
		for r, s := range slots {
			if s.root != s0.root {
				return []int{0, r}, fmt.Sprintf("rank %d passed root %d but rank 0 passed %d", r, s.root, s0.root)
			}
		}
		if s0.root < 0 || s0.root >= w {
			return nil, fmt.Sprintf("root %d is not a rank of this group of %d", s0.root, w)
		}
	case kindAllToAllV:
		return validateAllToAllV(slots)
	}
	return nil, ""
}

// sameLen checks that every slot's send has rank 0's length.
func sameLen(slots []slot, what string) ([]int, string) {
	for r, s := range slots {
		if len(s.send) != len(slots[0].send) {
			return []int{0, r}, fmt.Sprintf("rank %d passed a %s of length %d but rank 0 passed %d; every rank must pass the same length",
				r, what, len(s.send), len(slots[0].send))
		}
	}
	return nil, ""
}

// validateAllToAllV checks every rank's counts: W of each, none negative,
// sums within the buffers, and rank s's sendCounts[r] equal to rank r's
// recvCounts[s].
func validateAllToAllV(slots []slot) ([]int, string) {
	w := len(slots)
	for r, s := range slots {
		if len(s.sendCounts) != w || len(s.recvCounts) != w {
			return []int{r}, fmt.Sprintf("rank %d passed %d send counts and %d receive counts; the group has %d ranks and needs one of each per rank",
				r, len(s.sendCounts), len(s.recvCounts), w)
		}
		if reason := countsFit(r, "send", s.sendCounts, len(s.send)); reason != "" {
			return []int{r}, reason
		}
		if reason := countsFit(r, "receive", s.recvCounts, len(s.recv)); reason != "" {
			return []int{r}, reason
		}
	}
	for s, src := range slots {
		for r, dst := range slots {
			if src.sendCounts[r] != dst.recvCounts[s] {
				return []int{s, r}, fmt.Sprintf("rank %d sends %d values to rank %d, which expects %d from it; "+
					"exchange counts first so sendCounts[dst] on the sender equals recvCounts[src] on the receiver",
					s, src.sendCounts[r], r, dst.recvCounts[s])
			}
		}
	}
	return nil, ""
}

// countsFit checks that rank r's counts are non-negative and sum to at most
// n, the length of its buffer; it returns a reason or "".
func countsFit(r int, name string, counts []int, n int) string {
	sum := 0
	for _, c := range counts {
		if c < 0 {
			return fmt.Sprintf("rank %d passed a negative %s count %d in %v", r, name, c, counts)
		}
		sum += c
	}
	if sum > n {
		return fmt.Sprintf("rank %d passed %s counts %v summing to %d for a %s buffer of length %d", r, name, counts, sum, name, n)
	}
	return ""
}
