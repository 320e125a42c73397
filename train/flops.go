package train

import "github.com/moetrain/moetrain/configs"

// ActiveMatmulParams counts the matrix-multiply parameters one training token
// passes through: attention projections, the dense MLP or the K routed
// experts plus shared experts, the router gate and (noisy_topk) the noise
// projection on MoE layers, and the LM head (a matmul whether or not it is
// tied to the embedding). Embedding lookups and norms are not matmuls and are
// not counted.
func ActiveMatmulParams(c *configs.Config) int {
	m := c.Model
	dh := m.DModel / m.NHeads
	attn := m.DModel*m.NHeads*dh*2 + m.DModel*m.NKVHeads*dh*2 // q, o and k, v
	total := m.DModel * m.VocabSize                           // LM head (tied or not, it is a matmul)
	moe := c.MoELayers()
	for i := 0; i < m.NLayers; i++ {
		total += attn
		if moe != nil && moe[i] {
			f := c.MoE.ExpertFFNHiddenSize
			total += 3 * m.DModel * f * (c.MoE.TopK + c.MoE.SharedExperts)
			total += m.DModel * c.ExpertsForLayer(i) // router gate [E, D]
			if c.MoE.Router.Type == configs.RouterNoisyTopK {
				total += m.DModel * c.ExpertsForLayer(i) // noise projection [E, D], in training
			}
		} else {
			total += 3 * m.DModel * m.FFNHiddenSize
		}
	}
	return total
}

// FLOPsPerToken is the training cost of one token: 6 x active matmul
// parameters (2 for the forward multiply-add, 4 for the backward's two
// products) + 12 x n_layers x seq_len x d_model for attention scores and
// values (q·k and p·v over seq_len keys, 2 x seq_len x H x Dh each, times 3
// for the backward; H x Dh = d_model whatever the key/value heads, and no
// halving for the causal mask), the usual convention so figures compare
// across tools.
func FLOPsPerToken(c *configs.Config) float64 {
	return 6*float64(ActiveMatmulParams(c)) + 12*float64(c.Model.NLayers*c.Train.SeqLen*c.Model.DModel)
}
