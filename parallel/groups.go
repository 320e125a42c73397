package parallel

import "fmt"

// Groups splits c, a world of dp x ep ranks, into this rank's data-parallel
// and expert-parallel groups, with Megatron-Core's rank layout (order
// tp-cp-ep-dp-pp with tp = cp = pp = 1, so the expert-parallel index varies
// fastest):
//
//	world rank r = d*ep + e,   d = r / ep in [0, dp),   e = r % ep in [0, ep)
//	epGroup: the ep ranks {d*ep + e' : e'} sharing d, contiguous; group rank e
//	dpGroup: the dp ranks {d'*ep + e : d'} sharing e; group rank d
//
// With dp = 2, ep = 2 the EP groups are {0,1} {2,3} and the DP groups {0,2}
// {1,3}. epGroup is where tokens travel (AllToAllV); dpGroup holds the
// replicas of one expert shard, over which that shard's gradients are
// reduced (the expert-data-parallel group). Parameters replicated on every
// rank (attention, router, shared experts) are reduced over c itself.
// Every rank of c must call Groups.
func Groups(c Comm, dp, ep int) (dpGroup, epGroup Comm, err error) {
	if dp < 1 || ep < 1 || dp*ep != c.Size() {
		return nil, nil, fmt.Errorf("parallel: rank %d: data parallel %d x expert parallel %d does not match the world size %d; "+
			"set parallel.expert_parallel to a divisor of parallel.world_size", c.Rank(), dp, ep, c.Size())
	}
	d, e := c.Rank()/ep, c.Rank()%ep
	epGroup, err = c.Split(d, e)
	if err != nil {
		return nil, nil, fmt.Errorf("parallel: rank %d: splitting the expert-parallel groups: %w", c.Rank(), err)
	}
	dpGroup, err = c.Split(e, d)
	if err != nil {
		_ = epGroup.Close()
		return nil, nil, fmt.Errorf("parallel: rank %d: splitting the data-parallel groups: %w", c.Rank(), err)
	}
	return dpGroup, epGroup, nil
}
