package parallel_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/parallel"
	"github.com/moetrain/moetrain/router"
)

// The dispatcher benchmarks time one forward and backward pass of Dispatch
// followed directly by Combine (no experts in between, so only the
// dispatcher's own work counts) on float32 rows of N = 1024 tokens a rank,
// D = 256, over E = 8 experts with top-2 routing.
const benchTokens, benchWidth, benchExperts, benchTopK = 1024, 256, 8, 2

// benchRouting returns rank's tokens x [N, D], which require grad, and
// their routing (on a tape of its own, kept for the benchmark's length).
func benchRouting(rank int) (*autograd.Tensor, *router.Routing) {
	rng := rand.New(rand.NewPCG(1, uint64(rank)))
	r, err := router.NewWithDType(router.DefaultConfig(benchExperts, benchTopK), autograd.Float32, benchWidth, 0.5, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		panic(err)
	}
	x := autograd.ToFloat32(autograd.RandN(rng, 1, benchTokens, benchWidth)) // [N, D]
	x.SetRequiresGrad(true)
	return x, r.Route(autograd.NewNoGradTape(), x, false, nil)
}

// dispatchRoundTrip is one timed iteration on tape tp: dispatch, combine,
// backward of the combined rows' sum, and the tape's reset.
func dispatchRoundTrip(tp *autograd.Tape, d layers.Dispatcher, x *autograd.Tensor, rt *router.Routing) error {
	x.ZeroGrad()
	permuted, plan := d.Dispatch(tp, x, rt)
	y := d.Combine(tp, permuted, plan) // [N, D]
	err := tp.Backward(tp.Sum(y))
	tp.Reset()
	return err
}

// BenchmarkLocalDispatch is the one-process baseline of
// BenchmarkExpertParallelDispatch: the same tokens and routing, permuted
// in place.
func BenchmarkLocalDispatch(b *testing.B) {
	x, rt := benchRouting(0)
	tp := autograd.NewTape()
	b.SetBytes(int64(rt.Slots() * benchWidth * 4))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := dispatchRoundTrip(tp, layers.LocalDispatcher{}, x, rt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExpertParallelDispatch runs the same round trip at 2 ranks of the
// local backend, each with its own tokens, half the experts on each; it
// reports rank 0's time and allocations (which include its peer's, in one
// process) and the share of the time spent in the dispatcher's collectives.
func BenchmarkExpertParallelDispatch(b *testing.B) {
	const w = 2
	comms, err := parallel.NewLocal(w, parallel.LocalOptions{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	xs, rts := make([]*autograd.Tensor, w), make([]*router.Routing, w)
	ds := make([]*parallel.ExpertParallelDispatcher, w)
	for r := range w {
		xs[r], rts[r] = benchRouting(r)
	}
	b.SetBytes(int64(rts[0].Slots() * benchWidth * 4))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for r, err := range parallel.Run(comms, func(c parallel.Comm) error {
		d, err := parallel.NewExpertParallelDispatcher(c, benchExperts)
		if err != nil {
			return err
		}
		ds[c.Rank()] = d
		tp := autograd.NewTape()
		for range b.N {
			if err := dispatchRoundTrip(tp, d, xs[c.Rank()], rts[c.Rank()]); err != nil {
				return err
			}
		}
		return nil
	}) {
		if err != nil {
			b.Fatalf("rank %d: %v", r, err)
		}
	}
	b.StopTimer()
	if total := time.Since(start); total > 0 && ds[0] != nil {
		b.ReportMetric(float64(ds[0].CommTime())/float64(total), "comm-share")
	}
}
