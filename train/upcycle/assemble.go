package upcycle

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
)

// builder fills the target model's tensors from the sources, once for the weights and once for each
// AdamW moment, following one layout and one set of dropped neurons.
type builder struct {
	cfg     configs.UpcycleConfig
	seed    uint64
	sources []Source
	lay     *layout
	model   *layers.Model
	byName  []map[string]*autograd.Tensor // each source's parameters by name
	drops   map[int][][]int               // upcycled layer -> expert -> its re-initialised neurons (drop only)
}

// Random streams of one conversion, each seeded by train.seed and the layer, so that one setting
// does not move the draws of another.
const (
	streamRouter uint64 = iota + 1
	streamNoise
	streamDrop
	streamReinit
)

func newBuilder(t *configs.Config, sources []Source, lay *layout, m *layers.Model) *builder {
	b := &builder{cfg: t.Upcycle, seed: uint64(t.Train.Seed), sources: sources, lay: lay, model: m, drops: map[int][][]int{}}
	for _, s := range sources {
		ps := map[string]*autograd.Tensor{}
		for _, p := range s.Model.Params() {
			ps[p.Name] = p
		}
		b.byName = append(b.byName, ps)
	}
	if lay.method == configs.UpcycleDrop {
		n := int(math.Round(t.Upcycle.DropRatio * float64(lay.fe)))
		for _, i := range lay.converted() {
			rng := b.rng(streamDrop, i)
			sets := make([][]int, t.ExpertsForLayer(i))
			for e := range sets {
				sets[e] = rng.Perm(lay.fe)[:n]
				slices.Sort(sets[e])
			}
			b.drops[i] = sets
		}
	}
	return b
}

// rng returns the random stream of one purpose for layer i.
func (b *builder) rng(stream uint64, layer int) *rand.Rand {
	return rand.New(rand.NewPCG(b.seed, stream<<32|uint64(layer)))
}

// pass is one filling of the target's tensors: the weights, or one AdamW moment.
type pass struct {
	// read returns source s's value for its parameter p in this pass: p itself, or p's moment.
	read func(s int, p *autograd.Tensor) (*autograd.Tensor, error)
	// out returns the tensor that receives target parameter p's value in this pass.
	out func(p *autograd.Tensor) *autograd.Tensor
	// weights: draw router rows, scale the shards, add noise and re-initialise dropped neurons;
	// otherwise (moments) new router rows and dropped neurons are zero and nothing is scaled.
	weights bool
}

// weightPass fills the target's parameters from the sources' parameters.
func (b *builder) weightPass() pass {
	return pass{
		read:    func(_ int, p *autograd.Tensor) (*autograd.Tensor, error) { return p, nil },
		out:     func(p *autograd.Tensor) *autograd.Tensor { return p },
		weights: true,
	}
}

// moments returns one AdamW moment for every target parameter, from the sources' moments that get
// picks out. A source parameter without a moment (one it trained frozen) counts as zero.
func (b *builder) moments(get func(Source) map[string]*autograd.Tensor) (map[string]*autograd.Tensor, error) {
	out := make(map[string]*autograd.Tensor, len(b.model.Params()))
	for _, p := range b.model.Params() {
		out[p.Name] = autograd.New(p.DType(), p.Shape()...)
	}
	ps := pass{
		read: func(s int, p *autograd.Tensor) (*autograd.Tensor, error) {
			m := get(b.sources[s])[p.Name]
			switch {
			case m == nil:
				return autograd.New(p.DType(), p.Shape()...), nil
			case !slices.Equal(m.Shape(), p.Shape()):
				return nil, fmt.Errorf("source %s: the AdamW moment of %s has shape %v, the parameter %v: the checkpoint's optimizer state does not belong to its model",
					b.sources[s].Name, p.Name, m.Shape(), p.Shape())
			}
			return m, nil
		},
		out: func(p *autograd.Tensor) *autograd.Tensor { return out[p.Name] },
	}
	if err := b.assemble(ps); err != nil {
		return nil, err
	}
	return out, nil
}

// assemble fills every target tensor of one pass: the upcycled layers from the dense FFNs, every
// other parameter as the average of the sources' parameter of the same name (a copy for one source).
func (b *builder) assemble(ps pass) error {
	done := map[*autograd.Tensor]bool{}
	for _, i := range b.lay.converted() {
		if err := b.upcycleLayer(ps, i, done); err != nil {
			return err
		}
	}
	for _, p := range b.model.Params() {
		if done[p] {
			continue
		}
		if err := b.average(ps, p); err != nil {
			return err
		}
	}
	if ps.weights {
		return b.keepBiases()
	}
	return nil
}

// average writes into ps.out(p) the mean over the sources of their parameter named like p.
func (b *builder) average(ps pass, p *autograd.Tensor) error {
	vals := make([]*autograd.Tensor, len(b.sources))
	for s, src := range b.sources {
		q := b.byName[s][p.Name]
		if q == nil {
			return fmt.Errorf("source %s has no parameter %s for the target model: its checkpoint does not match its configuration", src.Name, p.Name)
		}
		if !slices.Equal(q.Shape(), p.Shape()) {
			return fmt.Errorf("source %s: %s has shape %v, the target model's %v", src.Name, p.Name, q.Shape(), p.Shape())
		}
		v, err := ps.read(s, q)
		if err != nil {
			return err
		}
		vals[s] = v
	}
	dst := ps.out(p)
	for i := range dst.Len() {
		sum := 0.0
		for _, v := range vals {
			sum += v.At(i)
		}
		dst.Set(i, sum/float64(len(vals)))
	}
	return nil
}

// keepBiases copies the expert-bias state of the routers of kept MoE layers.
func (b *builder) keepBiases() error {
	for i, r := range b.lay.roles {
		if r != keptMoE {
			continue
		}
		dst, src := b.model.Blocks[i].MoE.Router, b.sources[0].Model.Blocks[i].MoE.Router
		if dst.Config().ExpertBias && src.Config().ExpertBias {
			if err := dst.SetBias(src.Bias()); err != nil {
				return fmt.Errorf("source %s, layer %d: expert bias: %w", b.sources[0].Name, i, err)
			}
		}
	}
	return nil
}
