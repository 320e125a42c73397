package autograd

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countRanger counts how often each index is visited.
type countRanger struct{ hits []atomic.Int32 }

func (c *countRanger) RunRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func (c *countRanger) check(t *testing.T, what string) {
	t.Helper()
	for i := range c.hits {
		if h := c.hits[i].Swap(0); h != 1 {
			t.Fatalf("%s: index %d visited %d times", what, i, h)
		}
	}
}

func TestSplitRangeVisitsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 64, 1001} {
		for _, parts := range []int{0, 1, 2, 3, 5, 64} {
			c := &countRanger{hits: make([]atomic.Int32, n)}
			SplitRange(n, parts, c)
			c.check(t, "plain")
		}
	}
}

// A chunk may split again (the inner call finds the helpers busy and uses
// goroutines), several goroutines may split at once, and a helper that has
// parked wakes for the next job.
func TestSplitRangeNestedConcurrentAndAfterPark(t *testing.T) {
	outer := &countRanger{hits: make([]atomic.Int32, 40)}
	inner := &countRanger{hits: make([]atomic.Int32, 40*100)}
	SplitRange(40, 4, RangeFunc(func(lo, hi int) {
		outer.RunRange(lo, hi)
		for i := lo; i < hi; i++ {
			SplitRange(100, 2, RangeFunc(func(a, b int) { inner.RunRange(i*100+a, i*100+b) }))
		}
	}))
	outer.check(t, "outer")
	inner.check(t, "nested")

	var wg sync.WaitGroup
	cs := make([]*countRanger, 8)
	for g := range cs {
		cs[g] = &countRanger{hits: make([]atomic.Int32, 5000)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				SplitRange(5000, Cores(), cs[g])
				cs[g].check(t, "concurrent")
			}
		}()
	}
	wg.Wait()

	time.Sleep(3 * helperPoll)
	c := &countRanger{hits: make([]atomic.Int32, 1000)}
	SplitRange(1000, 2, c)
	c.check(t, "after park")
}

func TestSplitRangeAllocatesNothing(t *testing.T) {
	c := &countRanger{hits: make([]atomic.Int32, 4096)}
	if a := testing.AllocsPerRun(50, func() { SplitRange(4096, Cores(), c) }); a != 0 {
		t.Fatalf("SplitRange allocated %v times per call", a)
	}
	for i := range c.hits {
		c.hits[i].Store(0)
	}
}

// While one core is held up on a chunk, the others claim every remaining
// chunk: shares are not fixed in advance.
func TestSplitRangeOthersClaimWhileOneIsHeldUp(t *testing.T) {
	if Cores() < 2 {
		t.Skip("needs two cores")
	}
	var others atomic.Int32
	released := make(chan struct{})
	go func() {
		time.Sleep(5 * time.Second)
		close(released) // unblock a failing run instead of hanging
	}()
	var timedOut atomic.Bool
	SplitRange(8, 8, RangeFunc(func(lo, hi int) {
		if lo == 0 {
			for others.Load() < 7 {
				select {
				case <-released:
					timedOut.Store(true)
					return
				default:
					time.Sleep(time.Millisecond)
				}
			}
			return
		}
		others.Add(1)
	}))
	if timedOut.Load() {
		t.Fatalf("only %d of the 7 other chunks ran while chunk 0 was held up", others.Load())
	}
}

// A chunk that panics, on whichever goroutine runs it, raises the panic on
// the calling goroutine once the others have stopped, and leaves SplitRange
// usable.
func TestSplitRangePanicReachesTheCaller(t *testing.T) {
	for _, bad := range []int{0, 5, 63} {
		func() {
			defer func() {
				if p := recover(); p != "chunk" {
					t.Fatalf("chunk %d: recovered %v, want its panic", bad, p)
				}
			}()
			SplitRange(64, 64, RangeFunc(func(lo, hi int) {
				time.Sleep(50 * time.Microsecond)
				if lo <= bad && bad < hi {
					panic("chunk")
				}
			}))
		}()
		c := &countRanger{hits: make([]atomic.Int32, 1000)}
		SplitRange(1000, 8, c)
		c.check(t, "after a panic")
	}
}
