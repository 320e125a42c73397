package upcycle

import (
	"math"

	"github.com/moetrain/moetrain/autograd"
)

// dropNeurons re-initialises the neurons sets[e] of every expert e of layer i (drop): their rows of
// w1 and w3 and their columns of w2. In the weight pass each entry is drawn from a normal with the
// mean and standard deviation of the matrix it sits in, as copied into the expert (the source's
// matrix times the copy's scale), before noise; in a moment pass the entries are zero.
func (b *builder) dropNeurons(ps pass, i int, dst stack, src ffn, scale [3]float64, sets [][]int) {
	fe, d := dst.w1.Dim(1), dst.w1.Dim(2)
	draw := func(k int) float64 { return 0 }
	if ps.weights {
		var mu, sd [3]float64 // w1, w3, w2
		for k, t := range []*autograd.Tensor{src.w1, src.w3, src.w2} {
			m, s := meanStd(t)
			mu[k], sd[k] = scale[k]*m, math.Abs(scale[k])*s
		}
		rng := b.rng(streamReinit, i)
		draw = func(k int) float64 { return mu[k] + sd[k]*rng.NormFloat64() }
	}
	for e, set := range sets {
		for _, n := range set {
			for c := range d {
				dst.w1.Set((e*fe+n)*d+c, draw(0)) // w1 [E, Fe, D]: row n
				dst.w3.Set((e*fe+n)*d+c, draw(1)) // w3 [E, Fe, D]: row n
				dst.w2.Set((e*d+c)*fe+n, draw(2)) // w2 [E, D, Fe]: column n
			}
		}
	}
}

// meanStd returns the mean and the (population) standard deviation of t's elements.
func meanStd(t *autograd.Tensor) (mean, std float64) {
	n := float64(t.Len())
	for k := range t.Len() {
		mean += t.At(k)
	}
	mean /= n
	for k := range t.Len() {
		dev := t.At(k) - mean
		std += dev * dev
	}
	return mean, math.Sqrt(std / n)
}
