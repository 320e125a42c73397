package commtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
)

// testLarge moves 64 MiB in total through AllReduce and AllToAllV, with
// values whose sums are exact so every element can be checked.
func testLarge(t *testing.T, h harness) {
	n := h.n
	if testing.Short() {
		t.Skip("64 MiB messages skipped with -short")
	}
	const total = 64 << 20 / 4 // float32 values across all ranks
	l := total / n
	comms := world(t, h, okTimeout)
	runAll(t, comms, okTimeout, func(c parallel.Comm) error {
		r := c.Rank()
		buf := make([]float32, l)
		for i := range buf {
			buf[i] = float32(i%1024 + r)
		}
		if err := c.AllReduce(buf, parallel.Sum); err != nil {
			return err
		}
		for i, v := range buf {
			if want := float32(n*(i%1024) + n*(n-1)/2); v != want {
				return fmt.Errorf("large AllReduce element %d = %v, want %v", i, v, want)
			}
		}
		counts := make([]int, n)
		for d := range n {
			counts[d] = l / n
		}
		send := make([]float32, l)
		for i := range send {
			send[i] = float32(r*n + i/(l/n))
		}
		recv := make([]float32, l)
		if err := c.AllToAllV(send, counts, recv, counts); err != nil {
			return err
		}
		for i := range n * (l / n) {
			if want := float32(i/(l/n)*n + r); recv[i] != want {
				return fmt.Errorf("large AllToAllV element %d = %v, want %v", i, recv[i], want)
			}
		}
		return nil
	})
}

// testMismatch passes arguments that disagree across ranks: every rank must
// get an error naming the collective, and a correct call afterwards must
// still work.
func testMismatch(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	last := n - 1
	cases := map[string]func(c parallel.Comm) error{
		"AllReduce": func(c parallel.Comm) error { // the last rank's buffer is one longer
			return c.AllReduce(make([]float32, 4+ifElse(c.Rank() == last, 1, 0)), parallel.Sum)
		},
		"AllGather": func(c parallel.Comm) error { // recv one short
			return c.AllGather(make([]float32, 3), make([]float32, 3*n-1))
		},
		"ReduceScatter": func(c parallel.Comm) error { // send not W x recv
			return c.ReduceScatter(make([]float32, 2*n+1), make([]float32, 2), parallel.Sum)
		},
		"AllToAllV": func(c parallel.Comm) error { // the last rank expects one more from rank 0
			counts, recvCounts := make([]int, n), make([]int, n)
			for i := range counts {
				counts[i], recvCounts[i] = 1, 1
			}
			if c.Rank() == last {
				recvCounts[0] = 2
			}
			return c.AllToAllV(make([]float32, n), counts, make([]float32, n+1), recvCounts)
		},
		"Broadcast": func(c parallel.Comm) error { // a root outside the group
			return c.Broadcast(make([]float32, 2), n)
		},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) { // one order in every process
		call := cases[name]
		if n == 1 && name == "AllReduce" {
			continue // one rank cannot disagree with itself about lengths
		}
		runAll(t, comms, okTimeout, func(c parallel.Comm) error {
			err := call(c)
			pe, bad := asError(err)
			if bad != nil {
				return fmt.Errorf("mismatched %s: %v", name, bad)
			}
			if pe.Collective != name || !strings.Contains(err.Error(), name) {
				return fmt.Errorf("mismatched %s: error %q does not name the collective", name, err)
			}
			buf := []float32{1}
			if err := c.AllReduce(buf, parallel.Sum); err != nil {
				return fmt.Errorf("AllReduce after a mismatched %s: %w", name, err)
			}
			if buf[0] != float32(n) {
				return fmt.Errorf("AllReduce after a mismatched %s gave %v, want %d", name, buf[0], n)
			}
			return nil
		})
	}
}

// faultTimeout bounds collectives in the fault tests.
const faultTimeout = 300 * time.Millisecond

// expectLost checks that err names the lost group rank and the collective,
// and that it came within about the timeout of start.
func expectLost(err error, lost int, collective string, start time.Time, timeout time.Duration) error {
	pe, bad := asError(err)
	if bad != nil {
		return bad
	}
	if !pe.HasPeer(lost) || !strings.Contains(err.Error(), fmt.Sprint(lost)) {
		return fmt.Errorf("error %q does not name the lost rank %d (peers %v)", err, lost, pe.Peers)
	}
	if pe.Collective != collective || !strings.Contains(err.Error(), collective) {
		return fmt.Errorf("error %q does not name the collective %s", err, collective)
	}
	if took := time.Since(start); took > 10*timeout+2*time.Second {
		return fmt.Errorf("error came after %v, want about the timeout %v", took, timeout)
	}
	return nil
}

// testTimeout has the last rank skip an AllReduce its peers call; they must
// fail within about the timeout naming it, and later calls fail too.
func testTimeout(t *testing.T, h harness) {
	n := h.n
	if n < 2 {
		t.Skip("needs a peer to miss")
	}
	comms := world(t, h, faultTimeout)
	release := make(chan struct{})
	errs := runErrs(t, comms, 20*faultTimeout+5*time.Second, func(c parallel.Comm) error {
		if c.Rank() == 0 {
			defer close(release)
		}
		return checkMissed(c, faultTimeout, func() { <-release })
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// CheckHang is the timeout case for backends with one rank per process:
// the last rank of c stalls for hang instead of calling the AllReduce its
// peers call; every other rank must fail within about timeout (c's) with an
// *Error naming it and the collective, and a Barrier after that must fail
// at once. It returns this rank's verdict: nil when the backend behaved.
func CheckHang(c parallel.Comm, timeout, hang time.Duration) error {
	if c.Size() < 2 {
		return fmt.Errorf("CheckHang needs a group of at least 2 ranks, got %d", c.Size())
	}
	return checkMissed(c, timeout, func() { time.Sleep(hang) })
}

// checkMissed is one rank's part of the timeout case: the last rank calls
// stall instead of AllReduce.
func checkMissed(c parallel.Comm, timeout time.Duration, stall func()) error {
	last := c.Size() - 1
	if c.Rank() == last {
		stall() // stuck: never calls
		return nil
	}
	start := time.Now()
	err := c.AllReduce(make([]float32, 8), parallel.Sum)
	if took := time.Since(start); err != nil && took < timeout*9/10 {
		return fmt.Errorf("AllReduce failed after %v, before the timeout %v: %v", took, timeout, err)
	}
	if err := expectLost(err, last, "AllReduce", start, timeout); err != nil {
		return err
	}
	if err := c.Barrier(); err == nil {
		return fmt.Errorf("a Barrier after a timed-out AllReduce succeeded, want an error")
	}
	return nil
}

// testClosed has the last rank close its communicator instead of calling;
// its peers must fail naming it, and the rank that closed too.
func testClosed(t *testing.T, h harness) {
	n := h.n
	if n < 2 {
		t.Skip("needs a peer to close")
	}
	comms := world(t, h, faultTimeout)
	last := n - 1
	runAll(t, comms, 20*faultTimeout+5*time.Second, func(c parallel.Comm) error {
		if c.Rank() == last {
			if err := c.Close(); err != nil {
				return err
			}
			if err := c.Barrier(); err == nil {
				return fmt.Errorf("a Barrier on a closed communicator succeeded, want an error")
			}
			return nil
		}
		start := time.Now()
		return expectLost(c.AllToAllV(nil, make([]int, n), nil, make([]int, n)), last, "AllToAllV", start, faultTimeout)
	})
}
