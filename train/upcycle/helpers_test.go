package upcycle

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/layers"
	"github.com/moetrain/moetrain/train"
)

// smallModel is the dense preset cut down to a model that converts and runs in milliseconds. Its
// init_std of 0.3 makes the FFN's output as large as the residual stream, so that a wrong expert
// shows in the logits.
var smallModel = []string{
	"model.d_model=16", "model.n_layers=2", "model.n_heads=2", "model.n_kv_heads=1", "model.ffn_hidden_size=32",
	"model.max_seq_len=16", "model.init_std=0.3", "train.seq_len=16",
}

// exactRouting is renormalised top-k with nothing that perturbs it: the routing under which
// upcycling preserves the dense function.
var exactRouting = []string{
	"moe.router.type=topk_softmax", "moe.router.normalize=true", "moe.router.pre_softmax=false",
	"moe.router.jitter_eps=0", "moe.capacity_factor=0",
}

// loadConfig loads the dense preset with smallModel and sets on top.
func loadConfig(t *testing.T, sets ...string) *configs.Config {
	t.Helper()
	c, err := configs.Load(configs.LoadOptions{ConfigRef: "dense", Sets: append(slices.Clone(smallModel), sets...)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// moeTarget is a target configuration: smallModel with exact routing and the given MoE and upcycle keys.
func moeTarget(t *testing.T, sets ...string) *configs.Config {
	t.Helper()
	return loadConfig(t, append(slices.Clone(exactRouting), sets...)...)
}

// newSource builds the model of c in dtype dt from seed and moves every parameter (norms included)
// away from its initialisation, so that a weight left uncopied shows.
func newSource(t *testing.T, name string, c *configs.Config, dt autograd.DType, seed uint64) Source {
	t.Helper()
	m, err := layers.New(train.ModelConfig(c), dt, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, p := range m.Params() {
		for i := range p.Len() {
			p.Set(i, p.At(i)+0.1*rng.NormFloat64())
		}
	}
	return Source{Name: name, Config: c, Model: m}
}

// withMoments gives s an exp_avg and exp_avg_sq for every parameter, each element distinct.
func withMoments(s Source, seed uint64) Source {
	rng := rand.New(rand.NewPCG(seed, 7))
	s.ExpAvg, s.ExpAvgSq = map[string]*autograd.Tensor{}, map[string]*autograd.Tensor{}
	for _, p := range s.Model.Params() {
		m, v := autograd.New(p.DType(), p.Shape()...), autograd.New(p.DType(), p.Shape()...)
		for i := range p.Len() {
			m.Set(i, rng.NormFloat64())
			v.Set(i, rng.Float64()+0.1)
		}
		s.ExpAvg[p.Name], s.ExpAvgSq[p.Name] = m, v
	}
	return s
}

// mustConvert converts or fails the test.
func mustConvert(t *testing.T, target *configs.Config, sources ...Source) *Result {
	t.Helper()
	res, err := Convert(target, sources)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// batch is 2 sequences of 12 tokens and their next-token targets.
func batch() (tokens, targets []int32, b, n int) {
	rng := rand.New(rand.NewPCG(5, 5))
	b, n = 2, 12
	tokens, targets = make([]int32, b*n), make([]int32, b*n)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(256)), int32(rng.IntN(256))
	}
	return tokens, targets, b, n
}

// forward returns m's logits [N, V] on the batch, as float64, and its LM loss.
func forward(m *layers.Model) (logits []float64, loss float64) {
	tokens, targets, b, n := batch()
	tp := autograd.NewNoGradTape()
	out := m.Forward(tp, tokens, b, n, layers.ForwardOptions{})
	l := m.Loss(tp, out, targets, layers.LossConfig{IgnoreIdx: train.IgnoreIndex})
	logits = make([]float64, out.Logits.Len())
	for i := range logits {
		logits[i] = out.Logits.At(i)
	}
	return logits, l.LM.Item()
}

// maxDiff returns max |a[i] - b[i]|.
func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// values returns t's elements as float64.
func values(t *autograd.Tensor) []float64 {
	out := make([]float64, t.Len())
	for i := range out {
		out[i] = t.At(i)
	}
	return out
}

// param returns m's parameter called name, failing the test when there is none.
func param(t *testing.T, m *layers.Model, name string) *autograd.Tensor {
	t.Helper()
	for _, p := range m.Params() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no parameter %s", name)
	return nil
}

// expertRow returns row r of expert e of a stacked [E, R, C] tensor, or row r of an [R, C] matrix
// for e = 0.
func expertRow(x *autograd.Tensor, e, r int) []float64 {
	sh := x.Shape()
	rows, cols := sh[len(sh)-2], sh[len(sh)-1]
	out := make([]float64, cols)
	for c := range out {
		out[c] = x.At((e*rows+r)*cols + c)
	}
	return out
}

// column returns column c of a [R, C] matrix, or of matrix e of a stacked [E, R, C] tensor.
func column(x *autograd.Tensor, e, c int) []float64 {
	sh := x.Shape()
	rows, cols := sh[len(sh)-2], sh[len(sh)-1]
	out := make([]float64, rows)
	for r := range rows {
		out[r] = x.At((e*rows+r)*cols + c)
	}
	return out
}

// scaled returns s * xs.
func scaled(xs []float64, s float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = s * x
	}
	return out
}
