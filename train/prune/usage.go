package prune

import (
	"cmp"
	"slices"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// batch is one calibration micro-batch: ids [rows*t], rows sequences of t
// tokens.
type batch struct {
	ids []int32
	t   int
}

// calibrationBatches cuts tokens as train.EvalTokens does: the inputs of
// windows of t+1 tokens starting every t tokens, b windows per batch, at
// most maxBatches batches (the last one may hold fewer windows). Data too
// short for one full window gives one window of all its tokens but the last;
// fewer than 2 tokens give none.
func calibrationBatches(tokens []int32, b, t, maxBatches int) []batch {
	var out []batch
	var ids []int32
	for start := 0; start+t+1 <= len(tokens) && len(out) < maxBatches; start += t {
		ids = append(ids, tokens[start:start+t]...)
		if len(ids) == b*t {
			out, ids = append(out, batch{ids: ids, t: t}), nil
		}
	}
	if len(ids) > 0 {
		out = append(out, batch{ids: ids, t: t})
	}
	if len(out) == 0 && len(tokens) >= 2 {
		out = append(out, batch{ids: tokens[:len(tokens)-1], t: len(tokens) - 1})
	}
	return out
}

// calibration is what the full model's forward over the calibration
// batches shows of each MoE layer.
type calibration struct {
	layers []int       // model index of each MoE layer
	usage  [][]float64 // per MoE layer, [E] total combine weight of each expert's kept slots
	// inputs per MoE layer and batch: the layer's input [N, D] (after the
	// FFN norm), copied off the tape; nil unless captured.
	inputs [][]*autograd.Tensor
	tokens int
}

// calibrate runs m without gradients over the batches, summing each MoE
// layer's routing weight per expert and, with capture, keeping each MoE
// layer's inputs. m's dispatchers are wrapped for the run and restored.
func calibrate(m *layers.Model, batches []batch, capture bool) *calibration {
	cal := &calibration{}
	for i, blk := range m.Blocks {
		if blk.MoE != nil {
			cal.layers = append(cal.layers, i)
			cal.usage = append(cal.usage, make([]float64, blk.MoE.Experts.Count()))
		}
	}
	if capture {
		cal.inputs = make([][]*autograd.Tensor, len(cal.layers))
		for j, i := range cal.layers {
			moe := m.Blocks[i].MoE
			inner := moe.Dispatcher
			moe.Dispatcher = capturingDispatcher{Dispatcher: inner, inputs: &cal.inputs[j]}
			defer func() { moe.Dispatcher = inner }()
		}
	}
	tp := autograd.NewNoGradTape()
	for _, b := range batches {
		out := m.Forward(tp, b.ids, len(b.ids)/b.t, b.t, layers.ForwardOptions{})
		for j, rt := range out.Routings {
			addUsage(cal.usage[j], rt)
		}
		cal.tokens += len(b.ids)
		tp.Reset()
	}
	return cal
}

// addUsage adds each kept slot's combine weight to its expert's entry of
// usage [E].
func addUsage(usage []float64, rt *router.Routing) {
	for s, ex := range rt.Expert {
		usage[ex] += rt.Weight.At(s)
	}
}

// capturingDispatcher is a layer's dispatcher that also keeps a copy of
// every input the layer is given.
type capturingDispatcher struct {
	layers.Dispatcher
	inputs *[]*autograd.Tensor // each call's x [N, D]
}

func (d capturingDispatcher) Dispatch(tp *autograd.Tape, x *autograd.Tensor, rt *router.Routing) (*autograd.Tensor, layers.Plan) {
	*d.inputs = append(*d.inputs, x.Clone())
	return d.Dispatcher.Dispatch(tp, x, rt)
}

// shares returns usage [E] divided by its sum (all zeros for a zero sum).
func shares(usage []float64) []float64 {
	total := 0.0
	for _, u := range usage {
		total += u
	}
	out := make([]float64, len(usage))
	if total > 0 {
		for e, u := range usage {
			out[e] = u / total
		}
	}
	return out
}

// mostUsed returns the p experts with the largest usage [E], ties to the
// lower index, in ascending order.
func mostUsed(usage []float64, p int) []int {
	order := make([]int, len(usage))
	for e := range order {
		order[e] = e
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(usage[b], usage[a]) })
	kept := slices.Clone(order[:p])
	slices.Sort(kept)
	return kept
}
