package optim

import (
	"math/rand/v2"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// param64 returns a float64 parameter holding vals.
func param64(name string, vals ...float64) *autograd.Tensor {
	p := autograd.NewParam(autograd.Float64, name, len(vals))
	copy(p.F64(), vals)
	return p
}

// param32 returns a float32 parameter holding vals.
func param32(name string, vals ...float32) *autograd.Tensor {
	p := autograd.NewParam(autograd.Float32, name, len(vals))
	copy(p.F32(), vals)
	return p
}

// setGrad overwrites p's gradient with g (converted to p's dtype).
func setGrad(p *autograd.Tensor, g ...float64) {
	if p.DType() == autograd.Float64 {
		copy(autograd.Grads[float64](p), g)
		return
	}
	dst := autograd.Grads[float32](p)
	for i, v := range g {
		dst[i] = float32(v)
	}
}

// randParam32 returns a float32 parameter of n N(0, 1) values.
func randParam32(rng *rand.Rand, name string, n int) *autograd.Tensor {
	p := autograd.NewParam(autograd.Float32, name, n)
	for i := range p.F32() {
		p.F32()[i] = float32(rng.NormFloat64())
	}
	return p
}

// fillGrads32 fills every float32 parameter's gradient with N(0, std²) values.
func fillGrads32(rng *rand.Rand, std float64, params ...*autograd.Tensor) {
	for _, p := range params {
		for i, g := 0, autograd.Grads[float32](p); i < len(g); i++ {
			g[i] = float32(rng.NormFloat64() * std)
		}
	}
}

// mustAdamW builds an optimizer or fails the test.
func mustAdamW(t testing.TB, params []*autograd.Tensor, cfg AdamWConfig) *AdamW {
	t.Helper()
	o, err := NewAdamW(params, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// closeRel reports whether got is within rel of want, relatively.
func closeRel(got, want, rel float64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	w := want
	if w < 0 {
		w = -w
	}
	return d <= rel*max(w, 1e-300)
}
