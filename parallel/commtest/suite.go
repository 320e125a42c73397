package commtest

import (
	"fmt"
	"maps"
	"slices"
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
			h := harness{n: n, world: func(t *testing.T, timeout time.Duration) []parallel.Comm { return newWorld(t, n, timeout) }}
			for _, tc := range cases(true) {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
			}
		})
	}
}

// TestCommRank runs the conformance suite with this process's one rank of
// a world of size worldSize, for backends with one rank per process: every
// process of the job runs it, and each checks its own part. Every case of
// TestComm runs except Timeout, which under such a backend ends the job;
// run CheckHang for it in a job of its own.
func TestCommRank(t *testing.T, newWorld RankWorld, worldSize int) {
	h := harness{n: worldSize, world: func(t *testing.T, timeout time.Duration) []parallel.Comm {
		return []parallel.Comm{newWorld(t, timeout)}
	}}
	for _, tc := range cases(false) {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// testCase is one check of the suite.
type testCase struct {
	name string
	fn   func(*testing.T, harness)
}

// cases lists the suite's checks; the timeout check only when all ranks run
// in this process.
func cases(withTimeout bool) []testCase {
	cs := []testCase{
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
		{"Closed", testClosed},
	}
	if withTimeout {
		cs = append(cs, testCase{"Timeout", testTimeout})
	}
	return cs
}

// lengths are the per-rank payload lengths the collectives are checked at.
var lengths = []int{0, 1, 7, 1000}

// testAllReduce checks every rank's result against the serial reference and
// that it is bit-identical on every rank (gathering the results).
func testAllReduce(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	for _, op := range []parallel.Op{parallel.Sum, parallel.Avg} {
		for _, l := range lengths {
			in := make([][]float32, n)
			for r := range in {
				in[r] = values(uint64(l), r, l)
			}
			want := refReduce(in, op)
			runAll(t, comms, okTimeout, func(c parallel.Comm) error {
				buf := append([]float32(nil), in[c.Rank()]...)
				if err := c.AllReduce(buf, op); err != nil {
					return err
				}
				if i := closeTo(buf, want); i >= 0 {
					return fmt.Errorf("AllReduce %v L=%d: element %d is %v, the serial reference %v", op, l, i, buf[i], want[i])
				}
				all := make([]float32, n*l)
				if err := c.AllGather(buf, all); err != nil {
					return err
				}
				for r := range n {
					if err := equal(fmt.Sprintf("AllReduce %v L=%d rank %d's result vs this rank's", op, l, r), all[r*l:(r+1)*l], buf); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
}

func testAllGather(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
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

func testReduceScatter(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
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

func testAllToAllV(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	patterns := map[string]func(src, dst int) int{
		"uneven":      func(src, dst int) int { return (src*3 + dst*5 + 1) % 4 * (1 + src) },
		"all-zero":    func(src, dst int) int { return 0 },
		"silent-rank": func(src, dst int) int { return ifElse(src == n-1, 0, 2+dst) },
		"to-self":     func(src, dst int) int { return ifElse(src == dst, 5, 0) },
		"wide":        func(src, dst int) int { return 300 + 17*src + dst },
	}
	for _, name := range slices.Sorted(maps.Keys(patterns)) { // one order in every process
		count := patterns[name]
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

func testBroadcast(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
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

// barrierStep is how much later than rank r-1 rank r calls Barrier in
// testBarrier.
const barrierStep = 20 * time.Millisecond

// testBarrier staggers the ranks' arrivals by barrierStep each, after a
// first collective that lines them up: no rank may leave the Barrier before
// the last rank could have reached it (less half a step of slack for the
// ranks leaving the first collective at slightly different times).
func testBarrier(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	runAll(t, comms, okTimeout, func(c parallel.Comm) error {
		if err := c.AllReduce(make([]float32, 1), parallel.Sum); err != nil {
			return err
		}
		start := time.Now()
		time.Sleep(time.Duration(c.Rank()) * barrierStep)
		if err := c.Barrier(); err != nil {
			return err
		}
		if took, least := time.Since(start), time.Duration(n-1)*barrierStep-barrierStep/2; took < least {
			return fmt.Errorf("the Barrier returned after %v, before the last rank arrived at about %v", took, least+barrierStep/2)
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
