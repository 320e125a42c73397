package commtest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/parallel"
)

// testSplit splits the world into even and odd ranks, ranked in reverse by
// key, and runs AllReduce and AllToAllV in both groups at once, many times,
// each group with its own data.
func testSplit(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	runAll(t, comms, okTimeout, func(c parallel.Comm) error {
		r := c.Rank()
		sub, err := c.Split(r%2, -r)
		if err != nil {
			return err
		}
		var members []int // world ranks of this rank's group, by new rank
		for q := n - 1; q >= 0; q-- {
			if q%2 == r%2 {
				members = append(members, q)
			}
		}
		if sub.Size() != len(members) || sub.Rank() != slices.Index(members, r) {
			return fmt.Errorf("split: rank %d of %d, want %d of %d (members %v)", sub.Rank(), sub.Size(), slices.Index(members, r), len(members), members)
		}
		for it := range 50 {
			buf := []float32{float32(r), float32(it)}
			if err := sub.AllReduce(buf, parallel.Sum); err != nil {
				return err
			}
			sum := 0
			for _, q := range members {
				sum += q
			}
			if want := []float32{float32(sum), float32(it * len(members))}; !slices.Equal(buf, want) {
				return fmt.Errorf("split group %v iteration %d: AllReduce gave %v, want %v", members, it, buf, want)
			}
			w := sub.Size()
			send, counts := make([]float32, w), make([]int, w)
			for d := range w {
				send[d], counts[d] = float32(r*100+members[d]), 1
			}
			recv := make([]float32, w)
			if err := sub.AllToAllV(send, counts, recv, counts); err != nil {
				return err
			}
			for s := range w {
				if want := float32(members[s]*100 + r); recv[s] != want {
					return fmt.Errorf("split group %v: AllToAllV from group rank %d gave %v, want %v", members, s, recv[s], want)
				}
			}
		}
		// A negative color joins no group; the others still form theirs.
		none, err := c.Split(ifElse(r == 0, -1, 0), 0)
		if err != nil {
			return err
		}
		if r == 0 {
			if none != nil {
				return fmt.Errorf("split with negative color returned a group of %d, want nil", none.Size())
			}
			return nil
		}
		if none.Size() != n-1 || none.Rank() != r-1 {
			return fmt.Errorf("split without rank 0: rank %d of %d, want %d of %d", none.Rank(), none.Size(), r-1, n-1)
		}
		return none.Barrier()
	})
}

// testGroups checks Groups' Megatron layout for every factorization of the
// world: each group's members, found by all-gathering world ranks, must be
// {d*ep + e' : e'} for EP and {d'*ep + e : d'} for DP.
func testGroups(t *testing.T, h harness) {
	n := h.n
	comms := world(t, h, okTimeout)
	for ep := 1; ep <= n; ep++ {
		if n%ep != 0 {
			continue
		}
		dp := n / ep
		runAll(t, comms, okTimeout, func(c parallel.Comm) error {
			r := c.Rank()
			dpg, epg, err := parallel.Groups(c, dp, ep)
			if err != nil {
				return err
			}
			defer dpg.Close()
			defer epg.Close()
			d, e := r/ep, r%ep
			var wantEP, wantDP []float32
			for q := range ep {
				wantEP = append(wantEP, float32(d*ep+q))
			}
			for q := range dp {
				wantDP = append(wantDP, float32(q*ep+e))
			}
			for _, g := range []struct {
				name string
				c    parallel.Comm
				want []float32
			}{{"EP", epg, wantEP}, {"DP", dpg, wantDP}} {
				got := make([]float32, g.c.Size())
				if err := g.c.AllGather([]float32{float32(r)}, got); err != nil {
					return err
				}
				if err := equal(fmt.Sprintf("dp %d x ep %d: %s group members", dp, ep, g.name), got, g.want); err != nil {
					return err
				}
			}
			return nil
		})
	}
	runAll(t, comms, okTimeout, func(c parallel.Comm) error {
		if _, _, err := parallel.Groups(c, n+1, 1); err == nil {
			return fmt.Errorf("Groups(dp %d, ep 1) on a world of %d succeeded, want an error", n+1, n)
		}
		return nil
	})
}
