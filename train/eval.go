package train

import (
	"math"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// EvalResult is the mean next-token cross-entropy over evaluated tokens.
type EvalResult struct {
	Loss   float64 `json:"loss"` // nats per token
	PPL    float64 `json:"ppl"`  // exp(Loss)
	Tokens int     `json:"tokens"`
}

// Evaluate runs the model without gradients over batches of b sequences of t
// tokens and returns the token-weighted mean loss and perplexity.
func Evaluate(m *layers.Model, inputs, targets [][]int32, b, t int) EvalResult {
	tp := autograd.NewNoGradTape()
	var sum float64
	var count int
	for i := range inputs {
		bb := len(inputs[i]) / t
		if b > 0 && bb > b {
			bb = b
		}
		out := m.Forward(tp, inputs[i], bb, t, layers.ForwardOptions{})
		n := 0
		for _, y := range targets[i] {
			if y != IgnoreIndex {
				n++
			}
		}
		if n > 0 {
			sum += tp.CrossEntropy(out.Logits, targets[i], IgnoreIndex).Item() * float64(n)
			count += n
		}
		tp.Reset()
	}
	if count == 0 {
		return EvalResult{Loss: math.NaN(), PPL: math.NaN()}
	}
	loss := sum / float64(count)
	return EvalResult{Loss: loss, PPL: math.Exp(loss), Tokens: count}
}

// evaluate runs the configured number of validation batches.
func (t *Trainer) evaluate() EvalResult {
	c := t.cfg.Train
	in, tg := t.opts.Val.Windows(c.EvalBatches)
	return Evaluate(t.model, in, tg, c.MicroBatchSize, c.SeqLen)
}
