package upcycle

import "github.com/moetrain/moetrain/layers"

// ActiveParams counts the parameters one token passes through: every parameter of m except, in
// each MoE layer, the routed experts it is not sent to (E-K of the E). Like train's
// ActiveMatmulParams it counts the K routed experts, the shared experts and the router of an MoE
// layer; unlike it, it also counts the embedding and the norms and counts a tied LM head once, so
// that a dense model's active count is its total.
func ActiveParams(m *layers.Model) int {
	n := m.NumParams()
	for _, blk := range m.Blocks {
		if blk.MoE == nil {
			continue
		}
		ne, k := blk.MoE.Experts.Count(), blk.MoE.Router.Config().TopK
		per := 0 // parameters of one routed expert
		for _, p := range blk.MoE.Experts.Params() {
			per += p.Len() / ne
		}
		n -= (ne - k) * per
	}
	return n
}
