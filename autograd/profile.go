package autograd

import (
	"cmp"
	"slices"
	"time"
)

// OpTime is the time one kind of op took while a tape was profiled.
type OpTime struct {
	Op       string
	Calls    int
	Forward  time.Duration // from the end of the op recorded before it to its own recording
	Backward time.Duration
}

// profile accumulates OpTimes by op name.
type profile struct {
	byOp map[string]*OpTime
	last time.Time // when the previous op was recorded (or profiling started)
}

func (p *profile) entry(op string) *OpTime {
	t := p.byOp[op]
	if t == nil {
		t = &OpTime{Op: op}
		p.byOp[op] = t
	}
	return t
}

// forward charges the time since the previous record to op.
func (p *profile) forward(op string) {
	now := time.Now()
	t := p.entry(op)
	t.Calls++
	t.Forward += now.Sub(p.last)
	p.last = now
}

// backward runs r's backward and charges its time to r's op.
func (p *profile) backward(r *record) {
	start := time.Now()
	r.backward()
	p.entry(r.op).Backward += time.Since(start)
}

// StartProfile clears and starts the tape's per-op timing: each recorded op
// is charged the time since the op recorded before it (so the forward time
// of unrecorded work between ops goes to the next recorded one) and the time
// of its backward. Profiling costs two clock reads per op; ops on a tape that
// does not record are not seen.
func (tp *Tape) StartProfile() {
	tp.prof = &profile{byOp: map[string]*OpTime{}, last: time.Now()}
}

// StopProfile stops timing and returns the times per op, the most
// expensive (forward plus backward) first; nil if profiling was not on.
func (tp *Tape) StopProfile() []OpTime {
	if tp.prof == nil {
		return nil
	}
	out := make([]OpTime, 0, len(tp.prof.byOp))
	for _, t := range tp.prof.byOp {
		out = append(out, *t)
	}
	tp.prof = nil
	slices.SortFunc(out, func(a, b OpTime) int {
		if c := cmp.Compare(b.Forward+b.Backward, a.Forward+a.Backward); c != 0 {
			return c
		}
		return cmp.Compare(a.Op, b.Op)
	})
	return out
}
