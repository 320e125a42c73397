package parallel

import (
	"cmp"
	"slices"
)

// Split partitions the group by color and ranks each new group by (key,
// rank). The first member of each new group builds its hub between two
// rounds; the others pick it up after the second.
func (c *localComm) Split(color, key int) (Comm, error) {
	deadline, err := c.begin(kindSplit)
	if err != nil {
		return nil, err
	}
	rd, err := c.meet(slot{kind: kindSplit, color: color, key: key}, deadline)
	if err != nil {
		return nil, err
	}
	var mine []int // group ranks here of this rank's new group, in new rank order
	if color >= 0 {
		for r, s := range rd.slots {
			if s.color == color {
				mine = append(mine, r)
			}
		}
		slices.SortStableFunc(mine, func(a, b int) int { return cmp.Compare(rd.slots[a].key, rd.slots[b].key) })
		if mine[0] == c.rank {
			members := make([]int, len(mine))
			for i, r := range mine {
				members[i] = c.h.members[r]
			}
			rd.out[c.rank] = newHub(members, c.h.timeout)
		}
	}
	if err := c.finish(kindSplit, deadline); err != nil {
		return nil, err
	}
	if color < 0 {
		return nil, nil
	}
	child := &localComm{h: rd.out[mine[0]], rank: slices.Index(mine, c.rank)}
	c.children = append(c.children, child)
	return child, nil
}
