package layers

import (
	"fmt"
	"math/rand/v2"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/router"
)

// MoE is a Mixture-of-Experts feed-forward layer: route, dispatch, experts,
// combine, plus optional shared experts that every token passes through
// (DeepSeekMoE).
type MoE struct {
	Router     *router.Router
	Experts    *Experts
	Shared     *MLP // nil without shared experts; width SharedExperts*F
	Dispatcher Dispatcher
}

// MoEConfig describes one MoE layer.
type MoEConfig struct {
	Router        router.Config
	DModel        int
	ExpertFFN     int // F
	SharedExperts int // always-on experts, fused into one MLP of width SharedExperts*F
}

// NewMoE returns an MoE layer with a local dispatcher.
func NewMoE(dt autograd.DType, name string, cfg MoEConfig, std, outStd float64, rng *rand.Rand) (*MoE, error) {
	r, err := router.NewWithDType(cfg.Router, dt, cfg.DModel, std, rng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range r.Params() {
		p.Name = name + "." + p.Name + ".weight" // e.g. layers.3.moe.gate.weight
	}
	m := &MoE{
		Router:     r,
		Experts:    NewExperts(dt, name+".experts", cfg.Router.NumExperts, cfg.DModel, cfg.ExpertFFN, std, outStd, rng),
		Dispatcher: LocalDispatcher{},
	}
	if cfg.SharedExperts > 0 {
		m.Shared = NewMLP(dt, name+".shared_experts", cfg.DModel, cfg.SharedExperts*cfg.ExpertFFN, std, outStd, rng)
	}
	return m, nil
}

// Forward maps x [N, D] to [N, D] and returns the routing, which the caller
// needs for the auxiliary losses and routing statistics.
func (m *MoE) Forward(tp *autograd.Tape, x *autograd.Tensor, training bool, rng *rand.Rand) (*autograd.Tensor, *router.Routing) {
	rt := m.Router.Route(tp, x, training, rng)
	permuted, plan := m.Dispatcher.Dispatch(tp, x, rt)                    // [M, D]
	out := m.Experts.Forward(tp, permuted, plan.Offsets(), training, rng) // [M, D]
	y := m.Dispatcher.Combine(tp, out, plan)                              // [N, D]
	if m.Shared != nil {
		y = tp.Add(y, m.Shared.Forward(tp, x, training, rng))
	}
	return y, rt
}

// Params returns router, expert and shared-expert parameters.
func (m *MoE) Params() []*autograd.Tensor {
	ps := append(m.Router.Params(), m.Experts.Params()...)
	if m.Shared != nil {
		ps = append(ps, m.Shared.Params()...)
	}
	return ps
}
