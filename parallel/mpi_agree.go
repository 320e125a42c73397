//go:build mpi

package parallel

import (
	"fmt"
	"math"
	"slices"
)

// Before its payload every call of the MPI backend exchanges a header with
// every peer: the collective, its arguments and its lengths, so that every
// rank sees every rank's arguments and reaches the same verdict, as the
// local backend's validate does over its slots. A header is hdrFixed int64
// values followed by W send counts and W receive counts (zero unless
// AllToAllV):
//
//	[comm, kind, call, op, root, len(send), len(recv), color, key, sendCounts[W], recvCounts[W]]
//
// comm is the communicator's id (mpiComm.id): Open MPI reuses the context
// of a freed communicator for the next one, so a header or close notice
// sent on a communicator that was freed before it was received can turn up
// on a new one; a receiver drops such strays by their id.
//
// AllToAllV has no color or key and puts the lengths of its count slices
// there instead, so that a rank passing the wrong number fails everywhere.
const (
	hdrComm = iota
	hdrKind
	hdrCall
	hdrOp
	hdrRoot
	hdrSend
	hdrRecv
	hdrColor
	hdrKey
	hdrFixed
)

// hdrClosed is the kind a rank sends its peers when it closes the
// communicator; a peer that receives it fails naming that rank.
const hdrClosed = 100

// mpiKinds numbers the collectives in headers; the index is the code.
var mpiKinds = []string{"", kindAllReduce, kindAllGather, kindReduceScatter, kindAllToAllV, kindBroadcast, kindBarrier, kindSplit}

// header is one rank's view of a call, decoded.
type header struct {
	kind                   string
	op, root               int
	send, recv             int
	color, key             int
	sendCounts, recvCounts []int
}

// hdrLen is the length of a header for a group of w ranks.
func hdrLen(w int) int { return hdrFixed + 2*w }

// encode writes h as call number call of communicator id into buf
// [hdrLen(w)].
func (h *header) encode(buf []int64, id int64, call int) {
	clear(buf)
	buf[hdrComm] = id
	buf[hdrKind] = int64(slices.Index(mpiKinds, h.kind))
	buf[hdrCall] = int64(call)
	buf[hdrOp], buf[hdrRoot] = int64(h.op), int64(h.root)
	buf[hdrSend], buf[hdrRecv] = int64(h.send), int64(h.recv)
	buf[hdrColor], buf[hdrKey] = int64(h.color), int64(h.key)
	w := (len(buf) - hdrFixed) / 2
	for i := range min(w, len(h.sendCounts)) {
		buf[hdrFixed+i] = int64(h.sendCounts[i])
	}
	for i := range min(w, len(h.recvCounts)) {
		buf[hdrFixed+w+i] = int64(h.recvCounts[i])
	}
}

// decode reads a header from buf [hdrLen(w)]; counts are only kept for
// AllToAllV.
func decode(buf []int64) header {
	w := (len(buf) - hdrFixed) / 2
	h := header{op: int(buf[hdrOp]), root: int(buf[hdrRoot]), send: int(buf[hdrSend]), recv: int(buf[hdrRecv]),
		color: int(buf[hdrColor]), key: int(buf[hdrKey])}
	if k := buf[hdrKind]; k >= 0 && int(k) < len(mpiKinds) {
		h.kind = mpiKinds[k]
	} else {
		h.kind = fmt.Sprintf("kind(%d)", k)
	}
	if h.kind == kindAllToAllV && h.color == w && h.key == w {
		h.sendCounts, h.recvCounts = make([]int, w), make([]int, w)
		for i := range w {
			h.sendCounts[i] = int(buf[hdrFixed+i])
			h.recvCounts[i] = int(buf[hdrFixed+w+i])
		}
	}
	return h
}

// agree checks that the headers of a call agree, with the local backend's
// rules (validate) and messages, plus the MPI limit of int32 counts. It
// returns the group ranks at fault and a reason, or an empty reason.
func agree(hs []header) ([]int, string) {
	w := len(hs)
	h0 := hs[0]
	for r, h := range hs {
		if h.kind != h0.kind {
			return []int{0, r}, fmt.Sprintf("rank %d called %s while rank 0 called %s; "+
				"every rank must issue the same collectives in the same order", r, h.kind, h0.kind)
		}
		if h.send > math.MaxInt32 || h.recv > math.MaxInt32 {
			return []int{r}, fmt.Sprintf("rank %d passed buffers of %d and %d values; MPI counts are int32, "+
				"so split a buffer above %d values into several calls", r, h.send, h.recv, math.MaxInt32)
		}
	}
	switch h0.kind {
	case kindAllReduce, kindReduceScatter:
		for r, h := range hs {
			if Op(h.op) != Sum && Op(h.op) != Avg {
				return []int{r}, fmt.Sprintf("rank %d passed unknown op %v; use parallel.Sum or parallel.Avg", r, Op(h.op))
			}
			if h.op != h0.op {
				return []int{0, r}, fmt.Sprintf("rank %d passed op %v but rank 0 passed %v", r, Op(h.op), Op(h0.op))
			}
		}
	}
	switch h0.kind {
	case kindAllReduce, kindBroadcast, kindAllGather:
		for r, h := range hs {
			if h.send != h0.send {
				return []int{0, r}, fmt.Sprintf("rank %d passed a buffer of length %d but rank 0 passed %d; every rank must pass the same length",
					r, h.send, h0.send)
			}
		}
	}
	switch h0.kind {
	case kindAllGather:
		for r, h := range hs {
			if h.recv != w*h.send {
				return []int{r}, fmt.Sprintf("rank %d passed recv of length %d for send of length %d; "+
					"recv must hold group size %d x %d values", r, h.recv, h.send, w, h.send)
			}
		}
	case kindReduceScatter:
		for r, h := range hs {
			if h.send != w*h.recv {
				return []int{r}, fmt.Sprintf("rank %d passed send of length %d for recv of length %d; "+
					"send must hold group size %d x %d values", r, h.send, h.recv, w, h.recv)
			}
			if h.recv != h0.recv {
				return []int{0, r}, fmt.Sprintf("rank %d passed recv of length %d but rank 0 passed %d", r, h.recv, h0.recv)
			}
		}
	case kindBroadcast:
		for r, h := range hs {
			if h.root != h0.root {
				return []int{0, r}, fmt.Sprintf("rank %d passed root %d but rank 0 passed %d", r, h.root, h0.root)
			}
		}
		if h0.root < 0 || h0.root >= w {
			return nil, fmt.Sprintf("root %d is not a rank of this group of %d", h0.root, w)
		}
	case kindAllToAllV:
		return agreeAllToAllV(hs)
	}
	return nil, ""
}

// agreeAllToAllV checks every rank's counts as validateAllToAllV does.
func agreeAllToAllV(hs []header) ([]int, string) {
	w := len(hs)
	for r, h := range hs {
		if h.color != w || h.key != w {
			return []int{r}, fmt.Sprintf("rank %d passed %d send counts and %d receive counts; the group has %d ranks and needs one of each per rank",
				r, h.color, h.key, w)
		}
	}
	for r, h := range hs {
		if reason := countsFit(r, "send", h.sendCounts, h.send); reason != "" {
			return []int{r}, reason
		}
		if reason := countsFit(r, "receive", h.recvCounts, h.recv); reason != "" {
			return []int{r}, reason
		}
	}
	for s, src := range hs {
		for r, dst := range hs {
			if src.sendCounts[r] != dst.recvCounts[s] {
				return []int{s, r}, fmt.Sprintf("rank %d sends %d values to rank %d, which expects %d from it; "+
					"exchange counts first so sendCounts[dst] on the sender equals recvCounts[src] on the receiver",
					s, src.sendCounts[r], r, dst.recvCounts[s])
			}
		}
	}
	return nil, ""
}
