package layers

import (
	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/losses"
)

// LossConfig sets the auxiliary loss coefficients.
type LossConfig struct {
	AuxCoeff  float64 // load-balancing loss coefficient (0 disables)
	ZCoeff    float64 // router z-loss coefficient (0 disables)
	SeqAux    bool    // sequence-level load balancing instead of batch-level
	SeqLen    int     // tokens per sequence, for SeqAux
	IgnoreIdx int32   // target id that contributes no loss
}

// Loss is the training objective and its parts, each a [1] tensor on the tape
// (nil parts when that term is off or the model has no MoE layer).
type Loss struct {
	Total *autograd.Tensor
	LM    *autograd.Tensor
	Aux   *autograd.Tensor // summed over MoE layers
	Z     *autograd.Tensor // summed over MoE layers
}

// Loss returns CE(logits, targets) + sum over MoE layers of the load-balancing
// and z-losses (already multiplied by their coefficients).
func (m *Model) Loss(tp *autograd.Tape, out *Output, targets []int32, cfg LossConfig) *Loss {
	l := &Loss{LM: losses.CrossEntropy(tp, out.Logits, targets, cfg.IgnoreIdx)}
	l.Total = l.LM
	for _, rt := range out.Routings {
		if cfg.AuxCoeff > 0 {
			var a *autograd.Tensor
			if cfg.SeqAux {
				a = losses.SeqLoadBalancing(tp, rt.Probs, rt.ChoiceCounts(cfg.SeqLen), cfg.SeqLen, cfg.AuxCoeff)
			} else {
				a = losses.LoadBalancing(tp, rt.Probs, rt.ChoiceCounts(rt.Tokens()), cfg.AuxCoeff)
			}
			l.Aux = addOrSet(tp, l.Aux, a)
			l.Total = tp.Add(l.Total, a)
		}
		if cfg.ZCoeff > 0 {
			z := losses.ZLoss(tp, rt.Logits, cfg.ZCoeff)
			l.Z = addOrSet(tp, l.Z, z)
			l.Total = tp.Add(l.Total, z)
		}
	}
	return l
}

func addOrSet(tp *autograd.Tape, acc, x *autograd.Tensor) *autograd.Tensor {
	if acc == nil {
		return x
	}
	return tp.Add(acc, x)
}
