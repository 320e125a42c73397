package commtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
)

// NewWorld returns n communicators of a fresh world whose collectives are
// bounded by timeout; comms[r] is rank r's.
type NewWorld func(t *testing.T, n int, timeout time.Duration) []parallel.Comm

// okTimeout bounds collectives in tests that expect them to succeed; it is
// generous so that -race and loaded machines do not trip it.
const okTimeout = 60 * time.Second

// RankWorld returns this process's communicator of a fresh world whose
// collectives are bounded by timeout, for backends that run one rank per
// process (MPI): every process of the job calls it at the same point.
type RankWorld func(t *testing.T, timeout time.Duration) parallel.Comm

// harness is how a check reaches a fresh world of n ranks: all of them in
// this process (TestComm), or only this process's one (TestCommRank). The
// checks are written once, as functions of one rank's Comm.
type harness struct {
	n     int
	world func(t *testing.T, timeout time.Duration) []parallel.Comm
}

// world makes a world of h.n ranks, of which this process holds all or one,
// closed when the test ends.
func world(t *testing.T, h harness, timeout time.Duration) []parallel.Comm {
	t.Helper()
	comms := h.world(t, timeout)
	if len(comms) != h.n && len(comms) != 1 {
		t.Fatalf("the backend returned %d communicators for a world of %d", len(comms), h.n)
	}
	for i, c := range comms {
		if c.Size() != h.n || (len(comms) == h.n && c.Rank() != i) || c.Rank() < 0 || c.Rank() >= h.n {
			t.Fatalf("comms[%d]: Rank %d Size %d, want rank %d of %d", i, c.Rank(), c.Size(), i, h.n)
		}
	}
	t.Cleanup(func() {
		for _, c := range comms {
			_ = c.Close()
		}
	})
	return comms
}

// runAll runs fn on every rank this process holds and fails the test with
// each rank's error, or if the ranks do not finish within limit.
func runAll(t *testing.T, comms []parallel.Comm, limit time.Duration, fn func(c parallel.Comm) error) {
	t.Helper()
	for i, err := range runErrs(t, comms, limit, fn) {
		if err != nil {
			t.Errorf("rank %d: %v", comms[i].Rank(), err)
		}
	}
}

// runErrs runs fn on every rank and returns each rank's error; it fails the
// test if the ranks do not finish within limit.
func runErrs(t *testing.T, comms []parallel.Comm, limit time.Duration, fn func(c parallel.Comm) error) []error {
	t.Helper()
	done := make(chan []error, 1)
	go func() { done <- parallel.Run(comms, fn) }()
	select {
	case errs := <-done:
		return errs
	case <-time.After(limit):
		t.Fatalf("ranks did not finish within %v: a collective hangs", limit)
		return nil
	}
}

// values returns n pseudo-random values for rank r and a seed, with
// fractional parts so that the order of additions shows in the low bits.
func values(seed uint64, r, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, uint64(r)))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * float64(1+r))
	}
	return v
}

// refReduce is the serial reference: element-wise op of bufs in rank order.
func refReduce(bufs [][]float32, op parallel.Op) []float32 {
	out := append([]float32(nil), bufs[0]...)
	for _, b := range bufs[1:] {
		for i := range out {
			out[i] += b[i]
		}
	}
	if op == parallel.Avg {
		for i := range out {
			out[i] /= float32(len(bufs))
		}
	}
	return out
}

// closeTo reports the first index where got and want differ by more than a
// relative 1e-5 of the larger magnitude (plus 1e-6), or -1.
func closeTo(got, want []float32) int {
	if len(got) != len(want) {
		return 0
	}
	for i := range got {
		d, m := got[i]-want[i], max(abs(got[i]), abs(want[i]))
		if abs(d) > 1e-5*m+1e-6 {
			return i
		}
	}
	return -1
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// equal returns an error naming the first index where got and want differ.
func equal(what string, got, want []float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
	return nil
}

// asError unwraps err into a *parallel.Error or reports why it is not one.
func asError(err error) (*parallel.Error, error) {
	var pe *parallel.Error
	if err == nil {
		return nil, errors.New("got nil error")
	}
	if !errors.As(err, &pe) {
		return nil, fmt.Errorf("error %q is not a *parallel.Error", err)
	}
	return pe, nil
}
