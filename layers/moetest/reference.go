package moetest

import (
	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/router"
)

// Reference returns what the MoE layer m makes of x [N, D] under the routing
// rt (which must route x), [N, D], computed the slow way: for every token and
// each of its kept slots it runs that expert's SwiGLU MLP on the token alone
// and adds the result times the slot's weight, then adds the shared experts'
// output. It shares nothing with the grouped path but the routing, and
// records ordinary differentiable ops on tp.
func Reference(tp *autograd.Tape, m *layers.MoE, x *autograd.Tensor, rt *router.Routing) *autograd.Tensor {
	n := x.Dim(0)
	slots := make([][]int32, n) // each token's kept slots
	for s, tok := range rt.Token {
		slots[tok] = append(slots[tok], int32(s))
	}
	rows := make([]*autograd.Tensor, n)
	for tok := range n {
		xt := tp.GatherRows(x, []int32{int32(tok)}) // [1, D]
		var y *autograd.Tensor                      // [1, D]
		for _, s := range slots[tok] {
			o := tp.Mul(expertMLP(tp, m.Experts, int(rt.Expert[s]), xt), tp.GatherRows(rt.Weight, []int32{s}))
			if y == nil {
				y = o
			} else {
				y = tp.Add(y, o)
			}
		}
		if y == nil {
			y = tp.Scale(xt, 0) // a token with every slot dropped
		}
		rows[tok] = y
	}
	out := tp.Concat(0, rows...) // [N, D]
	if m.Shared != nil {
		out = tp.Add(out, m.Shared.Forward(tp, x, false, nil))
	}
	return out
}

// expertMLP runs expert e of ex on xt [1, D]: (silu(xt·W1ᵀ) * xt·W3ᵀ)·W2ᵀ.
func expertMLP(tp *autograd.Tape, ex *layers.Experts, e int, xt *autograd.Tensor) *autograd.Tensor {
	g := tp.MatMul(xt, tp.Select(ex.W1, e), false, true)                      // [1, F]
	u := tp.MatMul(xt, tp.Select(ex.W3, e), false, true)                      // [1, F]
	return tp.MatMul(tp.Mul(tp.SiLU(g), u), tp.Select(ex.W2, e), false, true) // [1, D]
}
