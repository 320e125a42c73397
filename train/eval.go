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

// Evaluate runs the model without gradients over batches of sequences of t
// tokens (each batch [rows*t], rows free per batch) and returns the
// token-weighted mean loss and perplexity.
func Evaluate(m *layers.Model, inputs, targets [][]int32, t int) EvalResult {
	return evaluateOn(autograd.NewNoGradTape(), m, inputs, targets, t)
}

// evaluateOn is Evaluate on a caller's no-grad tape, whose buffer pool
// then serves every evaluation of a run.
func evaluateOn(tp *autograd.Tape, m *layers.Model, inputs, targets [][]int32, t int) EvalResult {
	var sum float64
	var count int
	for i := range inputs {
		out := m.Forward(tp, inputs[i], len(inputs[i])/t, t, layers.ForwardOptions{})
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

// evaluate runs the configured number of validation batches; the ranks of a
// multi-rank run share them out (evaluateRanks).
func (t *Trainer) evaluate() (EvalResult, error) {
	c := t.cfg.Train
	in, tg := t.opts.Val.Windows(c.EvalBatches)
	if t.par != nil {
		return t.evaluateRanks(in, tg)
	}
	return evaluateOn(t.evalTape, t.model, in, tg, c.SeqLen), nil
}

// EvalTokens evaluates a whole token stream: windows of t+1 tokens start every
// t tokens (tokens 0..t-1 predict 1..t, then t..2t-1 predict t+1..2t, ...), in
// batches of b; a tail too short for a full window is evaluated as one shorter
// window, so every token after the first is predicted exactly once.
func EvalTokens(m *layers.Model, tokens []int32, b, t int) EvalResult {
	var inputs, targets [][]int32
	var in, tg []int32
	start := 0
	for ; start+t+1 <= len(tokens); start += t {
		in = append(in, tokens[start:start+t]...)
		tg = append(tg, tokens[start+1:start+t+1]...)
		if len(in) == b*t {
			inputs, targets = append(inputs, in), append(targets, tg)
			in, tg = nil, nil
		}
	}
	if len(in) > 0 {
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	res := Evaluate(m, inputs, targets, t)
	if rest := len(tokens) - start; rest >= 2 {
		tail := Evaluate(m, [][]int32{tokens[start : len(tokens)-1]}, [][]int32{tokens[start+1:]}, rest-1)
		res = mergeEval(res, tail)
	}
	return res
}

func mergeEval(a, b EvalResult) EvalResult {
	if a.Tokens == 0 {
		return b
	}
	if b.Tokens == 0 {
		return a
	}
	n := a.Tokens + b.Tokens
	loss := (a.Loss*float64(a.Tokens) + b.Loss*float64(b.Tokens)) / float64(n)
	return EvalResult{Loss: loss, PPL: math.Exp(loss), Tokens: n}
}
