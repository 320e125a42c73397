// Mutations caught: reversing the rank order of the additions in reduceInto
// makes TestLocalSumInRankOrder fail; dropping the finish round of AllReduce
// (ranks copy the result while others still reduce) makes the AllReduce
// cases of TestLocal fail under -race and often without; letting meet ignore
// the timer (waiting only on done) makes TestLocal/.../Timeout hang and fail
// its deadline; skipping the recvCounts/sendCounts cross-check in
// validateAllToAllV makes TestLocal/.../Mismatch fail; dropping the recover
// in Run makes TestRunPanic crash.
package parallel_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
	"github.com/moetrain/moetrain/parallel/commtest"
)

func newLocal(t *testing.T, n int, timeout time.Duration) []parallel.Comm {
	t.Helper()
	comms, err := parallel.NewLocal(n, parallel.LocalOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return comms
}

func TestLocal(t *testing.T) {
	commtest.TestComm(t, newLocal, 1, 2, 3, 4)
}

// TestLocalSumInRankOrder holds AllReduce to the exact bits of a serial
// float32 sum in rank order, and ReduceScatter likewise.
func TestLocalSumInRankOrder(t *testing.T) {
	const n, l = 4, 4099
	in := make([][]float32, n)
	for r := range in {
		rng := rand.New(rand.NewPCG(1, uint64(r)))
		in[r] = make([]float32, l)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64() * float64(1+10*r))
		}
	}
	want := make([]float32, l)
	for i := range want {
		acc := in[0][i]
		for r := 1; r < n; r++ {
			acc += in[r][i]
		}
		want[i] = acc
	}
	comms := newLocal(t, n, time.Minute)
	errs := parallel.Run(comms, func(c parallel.Comm) error {
		buf := append([]float32(nil), in[c.Rank()]...)
		if err := c.AllReduce(buf, parallel.Sum); err != nil {
			return err
		}
		for i := range buf {
			if buf[i] != want[i] {
				t.Errorf("rank %d: AllReduce element %d = %v, want %v bit for bit", c.Rank(), i, buf[i], want[i])
				return nil
			}
		}
		part := l / n
		recv := make([]float32, part)
		if err := c.ReduceScatter(in[c.Rank()][:n*part], recv, parallel.Sum); err != nil {
			return err
		}
		for i := range recv {
			if w := want[c.Rank()*part+i]; recv[i] != w {
				t.Errorf("rank %d: ReduceScatter element %d = %v, want %v bit for bit", c.Rank(), i, recv[i], w)
				return nil
			}
		}
		return nil
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// TestRunPanic has one rank panic before an AllReduce: Run turns the panic
// into its error and closes its communicator, so the peers fail at once,
// long before the timeout, naming it.
func TestRunPanic(t *testing.T) {
	const n, timeout = 3, time.Minute
	comms := newLocal(t, n, timeout)
	start := time.Now()
	errs := parallel.Run(comms, func(c parallel.Comm) error {
		if c.Rank() == 1 {
			panic("boom")
		}
		return c.AllReduce(make([]float32, 4), parallel.Sum)
	})
	if took := time.Since(start); took > timeout/2 {
		t.Fatalf("peers of a panicking rank took %v to fail", took)
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "rank 1 panicked: boom") {
		t.Errorf("rank 1: error %v, want the panic", errs[1])
	}
	for _, r := range []int{0, 2} {
		var pe *parallel.Error
		if !errors.As(errs[r], &pe) || !pe.HasPeer(1) || pe.Collective != "AllReduce" {
			t.Errorf("rank %d: error %v, want a *parallel.Error naming rank 1 and AllReduce", r, errs[r])
		}
	}
}

// TestLocalCloseClosesSplits closes a world handle and checks that the
// group split from it is closed too: its peer fails naming it.
func TestLocalCloseClosesSplits(t *testing.T) {
	comms := newLocal(t, 2, time.Minute)
	subs := make([]parallel.Comm, 2)
	for r, err := range parallel.Run(comms, func(c parallel.Comm) error {
		s, err := c.Split(0, c.Rank())
		subs[c.Rank()] = s
		return err
	}) {
		if err != nil {
			t.Fatalf("rank %d: Split: %v", r, err)
		}
	}
	if err := comms[0].Close(); err != nil {
		t.Fatal(err)
	}
	var pe *parallel.Error
	if err := subs[1].Barrier(); !errors.As(err, &pe) || !pe.HasPeer(0) {
		t.Fatalf("Barrier on the split group after rank 0 closed the world: %v, want an error naming rank 0", err)
	}
}

func TestNewLocalRejects(t *testing.T) {
	if _, err := parallel.NewLocal(0, parallel.LocalOptions{}); err == nil || !strings.Contains(err.Error(), "world size 0") {
		t.Errorf("NewLocal(0): %v, want an error naming the world size", err)
	}
	if _, err := parallel.NewLocal(2, parallel.LocalOptions{Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "-1s") {
		t.Errorf("NewLocal with a negative timeout: %v, want an error naming it", err)
	}
}
