package upcycle

import (
	"fmt"
	"math"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// ffn is one SwiGLU FFN in moetrain's layout (layers.MLP): w1 and w3 [F, D], whose rows are the
// hidden neurons, and w2 [D, F], whose columns are.
type ffn struct{ w1, w3, w2 *autograd.Tensor }

// stack is an MoE layer's E experts (layers.Experts): w1 and w3 [E, Fe, D], w2 [E, D, Fe].
type stack struct{ w1, w3, w2 *autograd.Tensor }

// upcycleLayer fills layer i's router, experts and shared expert from the sources' dense FFNs of
// layer i and marks the tensors it filled in done.
func (b *builder) upcycleLayer(ps pass, i int, done map[*autograd.Tensor]bool) error {
	moe := b.model.Blocks[i].MoE
	dense := make([]ffn, len(b.sources)) // [S]
	for s, src := range b.sources {
		mlp := src.Model.Blocks[i].MLP
		if mlp == nil {
			return fmt.Errorf("source %s: layer %d has no dense FFN to upcycle", src.Name, i)
		}
		var err error
		if dense[s], err = readFFN(ps, s, mlp); err != nil {
			return err
		}
	}
	b.router(ps, i, moe)
	b.experts(ps, i, moe.Experts, dense)
	for _, p := range moe.Router.Params() {
		done[p] = true
	}
	for _, p := range moe.Experts.Params() {
		done[p] = true
	}
	if moe.Shared != nil {
		w2 := 1.0
		if ps.weights {
			w2 = 0.5 // the routed experts' w2 is halved too: shared + routed = the dense FFN
		}
		dst := ffn{ps.out(moe.Shared.W1.W), ps.out(moe.Shared.W3.W), ps.out(moe.Shared.W2.W)} // [F, D], [F, D], [D, F]
		mean := meanFFN(dense)
		copyBlock(dst.w1, 0, mean.w1, 0, mean.w1.Len(), 1)
		copyBlock(dst.w3, 0, mean.w3, 0, mean.w3.Len(), 1)
		copyBlock(dst.w2, 0, mean.w2, 0, mean.w2.Len(), w2)
		for _, p := range moe.Shared.Params() {
			done[p] = true
		}
	}
	return nil
}

// readFFN returns source s's dense FFN as this pass reads it.
func readFFN(ps pass, s int, mlp *layers.MLP) (ffn, error) {
	var out [3]*autograd.Tensor
	for k, p := range mlp.Params() { // w1, w3, w2
		v, err := ps.read(s, p)
		if err != nil {
			return ffn{}, err
		}
		out[k] = v
	}
	return ffn{out[0], out[1], out[2]}, nil
}

// router writes the router of an upcycled layer: one row per copy of the FFN, drawn from
// N(0, router_init_std²) and shared by the copy's G experts, so that they score alike; its moments
// are zero. The router's other parameters (the noisy_topk noise weight) keep the zero start the
// model and the moments are built with.
func (b *builder) router(ps pass, i int, moe *layers.MoE) {
	gate := ps.out(moe.Router.Params()[0]) // [E, D]
	ne, d := gate.Dim(0), gate.Dim(1)
	row := make([]float64, d) // [D]
	rng := b.rng(streamRouter, i)
	for e := range ne {
		if e%b.lay.g == 0 {
			for k := range row {
				row[k] = 0
				if ps.weights {
					row[k] = rng.NormFloat64() * b.cfg.RouterInitStd
				}
			}
		}
		for k, v := range row {
			gate.Set(e*d+k, v)
		}
	}
}

// experts writes the routed experts of layer i: expert e holds shard e mod G of its source's FFN
// (the whole FFN when G is 1), with w3 and w2 multiplied by sqrt(G) and w2 halved beside a shared
// expert (weights only: moments are copied as they are); then noise and the dropped neurons.
func (b *builder) experts(ps pass, i int, x *layers.Experts, dense []ffn) {
	dst := stack{ps.out(x.W1), ps.out(x.W3), ps.out(x.W2)}
	ne, fe, d := dst.w1.Dim(0), dst.w1.Dim(1), dst.w1.Dim(2)
	f := dense[0].w1.Dim(0)
	s1, s3, s2 := 1.0, 1.0, 1.0
	if ps.weights {
		s3 = math.Sqrt(float64(b.lay.g))
		s2 = s3
		if b.lay.shared {
			s2 /= 2
		}
	}
	for e := range ne {
		src, j := dense[b.lay.sourceOf(e, ne)], e%b.lay.g
		copyBlock(dst.w1, e*fe*d, src.w1, j*fe*d, fe*d, s1)
		copyBlock(dst.w3, e*fe*d, src.w3, j*fe*d, fe*d, s3)
		for r := range d { // w2 [D, F]: the shard's columns j*Fe ... (j+1)*Fe-1 of every row
			copyBlock(dst.w2, (e*d+r)*fe, src.w2, r*f+j*fe, fe, s2)
		}
	}
	if ps.weights && b.cfg.NoiseStd > 0 {
		rng := b.rng(streamNoise, i)
		for _, t := range []*autograd.Tensor{dst.w1, dst.w3, dst.w2} {
			for k := range t.Len() {
				t.Set(k, t.At(k)+rng.NormFloat64()*b.cfg.NoiseStd)
			}
		}
	}
	if sets := b.drops[i]; sets != nil {
		b.dropNeurons(ps, i, dst, dense[0], [3]float64{s1, s3, s2}, sets)
	}
}

// copyBlock sets dst[dOff+k] = scale * src[sOff+k] for k < n.
func copyBlock(dst *autograd.Tensor, dOff int, src *autograd.Tensor, sOff, n int, scale float64) {
	for k := range n {
		dst.Set(dOff+k, scale*src.At(sOff+k))
	}
}

// meanFFN returns the element-wise mean of the FFNs: the FFN itself when there is one.
func meanFFN(fs []ffn) ffn {
	if len(fs) == 1 {
		return fs[0]
	}
	mean := func(get func(ffn) *autograd.Tensor) *autograd.Tensor {
		out := autograd.New(get(fs[0]).DType(), get(fs[0]).Shape()...)
		for k := range out.Len() {
			sum := 0.0
			for _, f := range fs {
				sum += get(f).At(k)
			}
			out.Set(k, sum/float64(len(fs)))
		}
		return out
	}
	return ffn{mean(func(f ffn) *autograd.Tensor { return f.w1 }), mean(func(f ffn) *autograd.Tensor { return f.w3 }),
		mean(func(f ffn) *autograd.Tensor { return f.w2 })}
}
