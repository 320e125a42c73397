package layers

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
)

// Shard returns new Experts holding copies of experts [lo, hi) of x: W1 and
// W3 [hi-lo, F, D], W2 [hi-lo, D, F], with the same names, dtype and
// trainability. Experts with LoRA adapters are refused.
func (x *Experts) Shard(lo, hi int) (*Experts, error) {
	if e := x.Count(); lo < 0 || hi > e || lo >= hi {
		return nil, fmt.Errorf("expert range [%d, %d) is not inside the %d experts", lo, hi, e)
	}
	if x.LoRA1 != nil || x.LoRA2 != nil || x.LoRA3 != nil {
		return nil, fmt.Errorf("%s: experts with LoRA adapters cannot be split over ranks (expert parallelism with LoRA is not supported)", x.W1.Name)
	}
	return &Experts{W1: expertRows(x.W1, lo, hi), W3: expertRows(x.W3, lo, hi), W2: expertRows(x.W2, lo, hi)}, nil
}

// expertRows copies experts [lo, hi) of w [E, ...] into a new parameter
// [hi-lo, ...] of the same name.
func expertRows(w *autograd.Tensor, lo, hi int) *autograd.Tensor {
	p := autograd.NewParam(w.DType(), w.Name, append([]int{hi - lo}, w.Shape()[1:]...)...)
	p.SetRequiresGrad(w.RequiresGrad())
	inner := w.Len() / w.Dim(0)
	if w.DType() == autograd.Float64 {
		copy(p.F64(), w.F64()[lo*inner:hi*inner])
	} else {
		copy(p.F32(), w.F32()[lo*inner:hi*inner])
	}
	return p
}

// ShardModelExperts keeps, in every MoE layer of m, only the experts that
// rank (of ep ranks sharing one copy of them) holds: the contiguous range
// [rank*E/ep, (rank+1)*E/ep). The routers still score all E experts. m's
// parameter list follows; the dispatcher is the caller's to replace (an
// expert-parallel one: the local dispatcher needs every expert).
func ShardModelExperts(m *Model, rank, ep int) error {
	if ep < 1 || rank < 0 || rank >= ep {
		return fmt.Errorf("rank %d of %d expert-parallel ranks is not a rank", rank, ep)
	}
	swap := map[*autograd.Tensor]*autograd.Tensor{}
	for i, blk := range m.Blocks {
		if blk.MoE == nil {
			continue
		}
		e := blk.MoE.Experts.Count()
		if e%ep != 0 {
			return fmt.Errorf("layer %d: its %d experts do not split over %d expert-parallel ranks; use a parallel.expert_parallel that divides %d", i, e, ep, e)
		}
		shard, err := blk.MoE.Experts.Shard(rank*e/ep, (rank+1)*e/ep)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		old := blk.MoE.Experts.Params()
		for j, p := range shard.Params() {
			swap[old[j]] = p
		}
		blk.MoE.Experts = shard
	}
	for j, p := range m.params {
		if s, ok := swap[p]; ok {
			m.params[j] = s
		}
	}
	return nil
}
