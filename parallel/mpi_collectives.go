//go:build mpi

package parallel

import (
	"cmp"
	"runtime"
	"slices"
)

// pinF pins buf's memory for an MPI operation in flight; empty buffers
// need nothing.
func pinF(pin *runtime.Pinner, bufs ...[]float32) {
	for _, b := range bufs {
		if len(b) > 0 {
			pin.Pin(&b[0])
		}
	}
}

// pinI pins MPI count and displacement arrays, which MPI reads until the
// operation completes.
func pinI(pin *runtime.Pinner, arrs ...[]cint) {
	for _, a := range arrs {
		if len(a) > 0 {
			pin.Pin(&a[0])
		}
	}
}

// chunks returns the [lo, hi) ranges of n values in pieces of at most max.
func chunks(n, max int) [][2]int {
	var out [][2]int
	for lo := 0; lo < n; lo += max {
		out = append(out, [2]int{lo, min(lo+max, n)})
	}
	return out
}

// scale divides buf by the group size for Avg; MPI itself only sums.
func scale(buf []float32, op Op, w int) {
	if op != Avg {
		return
	}
	f := float32(w)
	for i := range buf {
		buf[i] /= f
	}
}

// AllReduce sums buf [L] across the group in place, in pieces of at most
// mpiMaxChunk values. The order of additions is Open MPI's (the same on
// every rank, not necessarily rank order).
func (c *mpiComm) AllReduce(buf []float32, op Op) error {
	_, err := c.call(header{kind: kindAllReduce, op: int(op), send: len(buf)}, func([]header) ([]mpiStart, error) {
		var starts []mpiStart
		for _, ch := range chunks(len(buf), mpiMaxChunk) {
			part := buf[ch[0]:ch[1]]
			starts = append(starts, func(r *mpiRequest, pin *runtime.Pinner) error {
				pinF(pin, part)
				return mpiIallreduceSum(part, c.data, r)
			})
		}
		return starts, nil
	})
	if err != nil {
		return err
	}
	scale(buf, op, c.size)
	return nil
}

// AllGather fills recv [W*L] with every rank's send [L], each piece an
// MPI_Iallgatherv of at most mpiMaxChunk values in all, placed straight
// into recv by displacement.
func (c *mpiComm) AllGather(send, recv []float32) error {
	w := c.size
	_, err := c.call(header{kind: kindAllGather, send: len(send), recv: len(recv)}, func([]header) ([]mpiStart, error) {
		l := len(send)
		var starts []mpiStart
		for _, ch := range chunks(l, max(1, mpiMaxChunk/w)) {
			counts, displs := make([]cint, w), make([]cint, w)
			for q := range w {
				counts[q], displs[q] = cint(ch[1]-ch[0]), cint(q*l+ch[0])
			}
			part := send[ch[0]:ch[1]]
			starts = append(starts, func(r *mpiRequest, pin *runtime.Pinner) error {
				pinF(pin, part, recv)
				pinI(pin, counts, displs)
				return mpiIallgatherv(part, recv, counts, displs, c.data, r)
			})
		}
		return starts, nil
	})
	return err
}

// ReduceScatter sums send [W*L] and leaves part r in recv [L]. Above
// mpiMaxChunk values in all, each piece's blocks are first gathered into a
// staging buffer [W*chunk], since MPI wants them contiguous.
func (c *mpiComm) ReduceScatter(send, recv []float32, op Op) error {
	w := c.size
	_, err := c.call(header{kind: kindReduceScatter, op: int(op), send: len(send), recv: len(recv)}, func([]header) ([]mpiStart, error) {
		l := len(recv)
		if l == 0 {
			return nil, nil
		}
		if w*l <= mpiMaxChunk {
			return []mpiStart{func(r *mpiRequest, pin *runtime.Pinner) error {
				pinF(pin, send, recv)
				return mpiIreduceScatterBlock(send, recv, c.data, r)
			}}, nil
		}
		step := max(1, mpiMaxChunk/w)
		stage := make([]float32, w*step)
		var starts []mpiStart
		for _, ch := range chunks(l, step) {
			n := ch[1] - ch[0]
			starts = append(starts, func(r *mpiRequest, pin *runtime.Pinner) error {
				for q := range w {
					copy(stage[q*n:(q+1)*n], send[q*l+ch[0]:q*l+ch[1]])
				}
				pinF(pin, stage, recv)
				return mpiIreduceScatterBlock(stage[:w*n], recv[ch[0]:ch[1]], c.data, r)
			})
		}
		return starts, nil
	})
	if err != nil {
		return err
	}
	scale(recv, op, w)
	return nil
}

// AllToAllV moves the counted blocks in rounds: round k moves values
// [k*s, (k+1)*s) of every block, s = mpiMaxChunk / W, with displacements
// into send and recv, so that no call moves more than mpiMaxChunk values
// and every rank runs the same number of rounds (all counts are in the
// headers).
func (c *mpiComm) AllToAllV(send []float32, sendCounts []int, recv []float32, recvCounts []int) error {
	w := c.size
	h := header{kind: kindAllToAllV, send: len(send), recv: len(recv), color: len(sendCounts), key: len(recvCounts),
		sendCounts: sendCounts, recvCounts: recvCounts}
	_, err := c.call(h, func(hs []header) ([]mpiStart, error) {
		most := 0
		for _, h := range hs {
			most = max(most, slices.Max(h.sendCounts))
		}
		s := max(1, mpiMaxChunk/w)
		soff, roff := offsets(sendCounts), offsets(recvCounts)
		var starts []mpiStart
		for lo := 0; lo < most; lo += s {
			sc, sd, rc, rd := make([]cint, w), make([]cint, w), make([]cint, w), make([]cint, w)
			for q := range w {
				sc[q], sd[q] = cint(clampCount(sendCounts[q]-lo, s)), cint(soff[q]+lo)
				rc[q], rd[q] = cint(clampCount(recvCounts[q]-lo, s)), cint(roff[q]+lo)
			}
			starts = append(starts, func(r *mpiRequest, pin *runtime.Pinner) error {
				pinF(pin, send, recv)
				pinI(pin, sc, sd, rc, rd)
				return mpiIalltoallv(send, sc, sd, recv, rc, rd, c.data, r)
			})
		}
		return starts, nil
	})
	return err
}

// offsets are the running sums of counts: where each rank's block starts.
func offsets(counts []int) []int {
	out := make([]int, len(counts))
	at := 0
	for i, n := range counts {
		out[i] = at
		at += n
	}
	return out
}

// clampCount is n limited to [0, s].
func clampCount(n, s int) int { return max(0, min(n, s)) }

// Broadcast copies root's buf [L] to every rank, in pieces of at most
// mpiMaxChunk values.
func (c *mpiComm) Broadcast(buf []float32, root int) error {
	_, err := c.call(header{kind: kindBroadcast, send: len(buf), root: root}, func([]header) ([]mpiStart, error) {
		var starts []mpiStart
		for _, ch := range chunks(len(buf), mpiMaxChunk) {
			part := buf[ch[0]:ch[1]]
			starts = append(starts, func(r *mpiRequest, pin *runtime.Pinner) error {
				pinF(pin, part)
				return mpiIbcast(part, root, c.data, r)
			})
		}
		return starts, nil
	})
	return err
}

// Barrier returns once every rank has called it: the header exchange, in
// which every rank hears from every other, is the barrier.
func (c *mpiComm) Barrier() error {
	_, err := c.call(header{kind: kindBarrier}, func([]header) ([]mpiStart, error) { return nil, nil })
	return err
}

// Split partitions the group with MPI_Comm_split once the headers agree;
// the new group's members, ranked by (key, rank), come from the headers.
// MPI_Comm_split blocks the progress thread briefly: every rank of the
// group has already arrived.
func (c *mpiComm) Split(color, key int) (Comm, error) {
	var child *mpiComm
	_, err := c.call(header{kind: kindSplit, color: color, key: key}, func(hs []header) ([]mpiStart, error) {
		var mine []int // group ranks here of the new group, in new rank order
		if color >= 0 {
			for q, h := range hs {
				if h.color == color {
					mine = append(mine, q)
				}
			}
			slices.SortStableFunc(mine, func(a, b int) int { return cmp.Compare(hs[a].key, hs[b].key) })
		}
		data, err := mpiSplit(c.data, color, key)
		if err != nil {
			return nil, err
		}
		if color < 0 {
			if !mpiIsNull(data) {
				_ = mpiFree(data)
			}
			return nil, nil
		}
		members := make([]int, len(mine))
		for i, q := range mine {
			members[i] = c.members[q]
		}
		child, err = wrapMPIComm(c.e, data, members, c.timeout)
		if err == nil {
			child.id = commID(c.id, c.calls, color)
		}
		if err == nil && child.rank != slices.Index(mine, c.rank) {
			err = &Error{Rank: c.rank, Group: c.members, Collective: kindSplit, Call: c.calls,
				Reason: "MPI_Comm_split ranked this rank differently from the headers"}
		}
		return nil, err
	})
	if err != nil || color < 0 {
		return nil, err
	}
	c.children = append(c.children, child)
	return child, nil
}
