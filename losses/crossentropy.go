package losses

import "github.com/moetrain/moetrain/autograd"

// CrossEntropy returns the mean next-token cross-entropy of logits [N, V]
// against targets [N], skipping targets equal to ignoreIndex, as a [1]
// tensor (the fused log-softmax + NLL of autograd). It panics if
// len(targets) != N.
func CrossEntropy(tp *autograd.Tape, logits *autograd.Tensor, targets []int32, ignoreIndex int32) *autograd.Tensor {
	return tp.CrossEntropy(logits, targets, ignoreIndex)
}
