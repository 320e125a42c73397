package bpe

import "container/heap"

// longWord is the length from which encodeWord switches from rescanning the word
// per merge (quadratic, fastest for short words) to a priority queue of candidate
// merges (n log n, for long runs of letters, digits or symbols).
const longWord = 48

// mergeWordQueued applies merges to syms exactly as the rescanning loop does:
// always the lowest-rank pair, occurrences of one pair left to right. Symbols sit
// in a linked list; the queue holds candidate pairs by (rank, position) and is
// checked lazily, since merging invalidates neighbouring candidates.
func (t *Tokenizer) mergeWordQueued(syms []int32) []int32 {
	n := len(syms)
	prev, next := make([]int32, n), make([]int32, n)
	for i := range n {
		prev[i], next[i] = int32(i-1), int32(i+1)
	}
	next[n-1] = -1
	q := &candidateQueue{}
	push := func(pos int32) {
		if pos < 0 || next[pos] < 0 {
			return
		}
		l, r := syms[pos], syms[next[pos]]
		if m, ok := t.ranks[pairKey(l, r)]; ok {
			heap.Push(q, candidate{rank: m.rank, pos: pos, left: l, right: r, result: m.result})
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	for q.Len() > 0 {
		c := heap.Pop(q).(candidate)
		nb := next[c.pos]
		if syms[c.pos] != c.left || nb < 0 || syms[nb] != c.right {
			continue // stale: a neighbour was merged since this was queued
		}
		syms[c.pos] = c.result
		syms[nb] = -1 // dead
		next[c.pos] = next[nb]
		if next[nb] >= 0 {
			prev[next[nb]] = c.pos
		}
		push(prev[c.pos])
		push(c.pos)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// candidate is a pair that may be merged: the left symbol's position and the
// symbols it was queued for.
type candidate struct {
	rank, pos, left, right, result int32
}

// candidateQueue is a min-heap on (rank, position).
type candidateQueue []candidate

func (q candidateQueue) Len() int { return len(q) }
func (q candidateQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q candidateQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *candidateQueue) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *candidateQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
