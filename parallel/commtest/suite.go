package commtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
)

// TestComm runs the conformance suite against the backend newWorld builds,
// at each world size in sizes (1, 2, 3 and 4 when none are given).
func TestComm(t *testing.T, newWorld NewWorld, sizes ...int) {
	if len(sizes) == 0 {
		sizes = []int{1, 2, 3, 4}
	}
	for _, n := range sizes {
		t.Run(fmt.Sprintf("world=%d", n), func(t *testing.T) {
			cases := []struct {
				name string
				fn   func(*testing.T, NewWorld, int)
			}{
				{"AllReduce", testAllReduce},
				{"AllGather", testAllGather},
				{"ReduceScatter", testReduceScatter},
				{"AllToAllV", testAllToAllV},
				{"Broadcast", testBroadcast},
				{"Barrier", testBarrier},
				{"Split", testSplit},
				{"Groups", testGroups},
				{"Large", testLarge},
				{"Mismatch", testMismatch},
				{"Timeout", testTimeout},
				{"Closed", testClosed},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newWorld, n) })
			}
		})
	}
}

// lengths are the per-rank payload lengths the collectives are checked at.
var lengths = []int{0, 1, 7, 1000}

func testAllReduce(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	for _, op := range []parallel.Op{parallel.Sum, parallel.Avg} {
		for _, l := range lengths {
			in := make([][]float32, n)
			for r := range in {
				in[r] = values(uint64(l), r, l)
			}
			want := refReduce(in, op)
			got := make([][]float32, n)
			runAll(t, comms, okTimeout, func(c parallel.Comm) error {
				buf := append([]float32(nil), in[c.Rank()]...)
				if err := c.AllReduce(buf, op); err != nil {
					return err
				}
				got[c.Rank()] = buf
				return nil
			})
			for r := range got {
				if i := closeTo(got[r], want); i >= 0 {
					t.Fatalf("AllReduce %v L=%d rank %d: element %d differs from the serial reference", op, l, r, i)
				}
				if err := equal(fmt.Sprintf("AllReduce %v L=%d rank %d vs rank 0", op, l, r), got[r], got[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func testAllGather(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	for _, l := range lengths {
		var want []float32
		for r := range n {
			want = append(want, values(7, r, l)...)
		}
		runAll(t, comms, okTimeout, func(c parallel.Comm) error {
			recv := make([]float32, n*l)
			if err := c.AllGather(values(7, c.Rank(), l), recv); err != nil {
				return err
			}
			return equal(fmt.Sprintf("AllGather L=%d recv", l), recv, want)
		})
	}
}

func testReduceScatter(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	for _, op := range []parallel.Op{parallel.Sum, parallel.Avg} {
		for _, l := range lengths {
			in := make([][]float32, n)
			for r := range in {
				in[r] = values(uint64(l)+99, r, n*l)
			}
			want := refReduce(in, op)
			runAll(t, comms, okTimeout, func(c parallel.Comm) error {
				recv := make([]float32, l)
				if err := c.ReduceScatter(in[c.Rank()], recv, op); err != nil {
					return err
				}
				r := c.Rank()
				if i := closeTo(recv, want[r*l:(r+1)*l]); i >= 0 {
					return fmt.Errorf("ReduceScatter %v L=%d: element %d is %v, want %v", op, l, i, recv[i], want[r*l+i])
				}
				return nil
			})
		}
	}
}

// tag is the value element i of the block rank src sends to rank dst
// carries in the AllToAllV tests; exact in float32 for the sizes used.
func tag(src, dst, i int) float32 { return float32(src*1_000_000 + dst*10_000 + i) }

func testAllToAllV(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	patterns := map[string]func(src, dst int) int{
		"uneven":      func(src, dst int) int { return (src*3 + dst*5 + 1) % 4 * (1 + src) },
		"all-zero":    func(src, dst int) int { return 0 },
		"silent-rank": func(src, dst int) int { return ifElse(src == n-1, 0, 2+dst) },
		"to-self":     func(src, dst int) int { return ifElse(src == dst, 5, 0) },
		"wide":        func(src, dst int) int { return 300 + 17*src + dst },
	}
	for name, count := range patterns {
		runAll(t, comms, okTimeout, func(c parallel.Comm) error {
			r := c.Rank()
			sendCounts, recvCounts := make([]int, n), make([]int, n)
			var send, want []float32
			for d := range n {
				sendCounts[d] = count(r, d)
				for i := range sendCounts[d] {
					send = append(send, tag(r, d, i))
				}
			}
			for s := range n {
				recvCounts[s] = count(s, r)
				for i := range recvCounts[s] {
					want = append(want, tag(s, r, i))
				}
			}
			const tail = 3 // recv is longer than needed; the tail stays untouched
			recv := make([]float32, len(want)+tail)
			for i := range recv {
				recv[i] = -1
			}
			if err := c.AllToAllV(send, sendCounts, recv, recvCounts); err != nil {
				return err
			}
			want = append(want, make([]float32, tail)...)
			for i := range tail {
				want[len(want)-1-i] = -1
			}
			return equal("AllToAllV "+name+" recv", recv, want)
		})
	}
}

func testBroadcast(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	for root := range n {
		for _, l := range lengths {
			want := values(uint64(1000+root), root, l)
			runAll(t, comms, okTimeout, func(c parallel.Comm) error {
				buf := values(uint64(2000+root), c.Rank(), l)
				if c.Rank() == root {
					buf = append(buf[:0], want...)
				}
				if err := c.Broadcast(buf, root); err != nil {
					return err
				}
				return equal(fmt.Sprintf("Broadcast root %d L=%d buf", root, l), buf, want)
			})
		}
	}
}

func testBarrier(t *testing.T, newWorld NewWorld, n int) {
	comms := world(t, newWorld, n, okTimeout)
	arrived := make([]chan struct{}, n) // closed by rank r just before its Barrier
	for r := range arrived {
		arrived[r] = make(chan struct{})
	}
	runAll(t, comms, okTimeout, func(c parallel.Comm) error {
		time.Sleep(time.Duration(c.Rank()) * 20 * time.Millisecond)
		close(arrived[c.Rank()])
		if err := c.Barrier(); err != nil {
			return err
		}
		for r, ch := range arrived {
			select {
			case <-ch:
			default:
				return fmt.Errorf("the Barrier returned before rank %d arrived", r)
			}
		}
		return nil
	})
}

// ifElse is a if cond holds, else b.
func ifElse(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}
