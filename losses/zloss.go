package losses

import (
	"fmt"

	"github.com/moetrain/moetrain/autograd"
)

// ZLoss returns the ST-MoE router z-loss
//
//	coeff * mean over tokens of logsumexp(logits[t, :])^2
//
// for router logits [N, E], as a [1] tensor. It keeps the router's logits
// small, which keeps its softmax well conditioned. It panics if logits is not
// 2-D with N >= 1.
func ZLoss(tp *autograd.Tape, logits *autograd.Tensor, coeff float64) *autograd.Tensor {
	if len(logits.Shape()) != 2 || logits.Dim(0) < 1 {
		panic(fmt.Sprintf("losses.ZLoss: logits shape %v, want [N, E] with N >= 1", logits.Shape()))
	}
	lse := tp.LogSumExp(logits) // [N]
	return tp.Scale(tp.Mean(tp.Mul(lse, lse)), coeff)
}
