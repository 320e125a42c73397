package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The oracle tests build one dense network twice — with gorgonia's static
// ExprGraph and symbolic Grad, run on its TapeMachine, and with this package's
// tape — from the same float64 weights, and hold the loss and every weight and
// bias gradient equal:
//
//	x [N, Din] -> ·W1 [Din, H] -> +b1 [H] -> act -> ·W2 [H, C] -> +b2 [C]
//	           -> log-softmax -> mean NLL of integer targets (one-hot in gorgonia)

// oracleTol is the largest normwise relative error allowed between the two
// implementations in float64.
const oracleTol = 1e-6

// oracleNet holds the inputs and weights of one MLP case, in float64.
type oracleNet struct {
	n, din, h, c int
	x            []float64 // [N, Din]
	w1, b1       []float64 // [Din, H], [H]
	w2, b2       []float64 // [H, C], [C]
	targets      []int32   // [N]
}

// oracleResult is a loss and the gradients of W1, b1, W2, b2, in that order.
type oracleResult struct {
	loss  float64
	grads [4][]float64
}

var oracleParamNames = [4]string{"W1", "b1", "W2", "b2"}

func newOracleNet(rng *rand.Rand, n, din, h, c int) *oracleNet {
	randn := func(std float64, k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = rng.NormFloat64() * std
		}
		return v
	}
	// Weights at 1.5/sqrt(fan-in) keep the logits O(1): the softmax is
	// neither uniform nor saturated, so every gradient entry matters.
	net := &oracleNet{n: n, din: din, h: h, c: c,
		x:  randn(1, n*din),
		w1: randn(1.5/math.Sqrt(float64(din)), din*h), b1: randn(0.5, h),
		w2: randn(1.5/math.Sqrt(float64(h)), h*c), b2: randn(0.5, c),
		targets: make([]int32, n),
	}
	for i := range net.targets {
		net.targets[i] = int32(rng.IntN(c))
	}
	return net
}

// clone returns a deep copy, so that one side can be perturbed alone.
func (net *oracleNet) clone() *oracleNet {
	c := *net
	c.x = append([]float64(nil), net.x...)
	c.w1, c.b1 = append([]float64(nil), net.w1...), append([]float64(nil), net.b1...)
	c.w2, c.b2 = append([]float64(nil), net.w2...), append([]float64(nil), net.b2...)
	c.targets = append([]int32(nil), net.targets...)
	return &c
}

func (net *oracleNet) oneHot() []float64 {
	oh := make([]float64, net.n*net.c) // [N, C]
	for i, t := range net.targets {
		oh[i*net.c+int(t)] = 1
	}
	return oh
}

// gorgoniaMLP computes the loss and gradients with gorgonia. act is "sigmoid",
// "tanh" or "silu" (built as x * sigmoid(x)); explicitLSE selects the
// log-softmax formulation: false uses gorgonia's LogSoftMax op, true builds
// Z - log(sum(exp(Z), 1)) from elementary ops with a broadcast subtraction.
func gorgoniaMLP(net *oracleNet, act string, explicitLSE bool) (oracleResult, error) {
	g := G.NewGraph()
	dense := func(data []float64, shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), data...)))
	}
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(net.n, net.din), G.WithName("x"), G.WithValue(dense(net.x, net.n, net.din)))
	w1 := G.NewMatrix(g, tensor.Float64, G.WithShape(net.din, net.h), G.WithName("W1"), G.WithValue(dense(net.w1, net.din, net.h)))
	b1 := G.NewVector(g, tensor.Float64, G.WithShape(net.h), G.WithName("b1"), G.WithValue(dense(net.b1, net.h)))
	w2 := G.NewMatrix(g, tensor.Float64, G.WithShape(net.h, net.c), G.WithName("W2"), G.WithValue(dense(net.w2, net.h, net.c)))
	b2 := G.NewVector(g, tensor.Float64, G.WithShape(net.c), G.WithName("b2"), G.WithValue(dense(net.b2, net.c)))
	oh := G.NewMatrix(g, tensor.Float64, G.WithShape(net.n, net.c), G.WithName("onehot"), G.WithValue(dense(net.oneHot(), net.n, net.c)))

	// The bias vectors are broadcast along axis 0 (rows).
	pre := G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w1)), b1, nil, []byte{0})) // [N, H]
	var hid *G.Node                                                         // [N, H]
	switch act {
	case "sigmoid":
		hid = G.Must(G.Sigmoid(pre))
	case "tanh":
		hid = G.Must(G.Tanh(pre))
	case "silu":
		hid = G.Must(G.HadamardProd(pre, G.Must(G.Sigmoid(pre))))
	default:
		return oracleResult{}, fmt.Errorf("unknown activation %q", act)
	}
	z := G.Must(G.BroadcastAdd(G.Must(G.Mul(hid, w2)), b2, nil, []byte{0})) // [N, C]
	var logp *G.Node                                                        // [N, C]
	if explicitLSE {
		lse := G.Must(G.Log(G.Must(G.Sum(G.Must(G.Exp(z)), 1)))) // [N]
		logp = G.Must(G.BroadcastSub(z, lse, nil, []byte{1}))
	} else {
		logp = G.Must(G.LogSoftMax(z))
	}
	picked := G.Must(G.Sum(G.Must(G.HadamardProd(oh, logp)), 1)) // [N] log p(target)
	loss := G.Must(G.Neg(G.Must(G.Mean(picked))))                // scalar

	params := G.Nodes{w1, b1, w2, b2}
	grads, err := G.Grad(loss, params...)
	if err != nil {
		return oracleResult{}, fmt.Errorf("gorgonia Grad: %w", err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return oracleResult{}, fmt.Errorf("gorgonia run: %w", err)
	}
	var res oracleResult
	lv, ok := loss.Value().Data().(float64)
	if !ok {
		return oracleResult{}, fmt.Errorf("gorgonia loss is %T, want float64", loss.Value().Data())
	}
	res.loss = lv
	for i, gn := range grads {
		d, ok := gn.Value().Data().([]float64)
		if !ok {
			return oracleResult{}, fmt.Errorf("gorgonia gradient of %s is %T, want []float64", oracleParamNames[i], gn.Value().Data())
		}
		res.grads[i] = append([]float64(nil), d...)
	}
	return res, nil
}

// ourMLP computes the loss and gradients on a Tape. act is "sigmoid" or
// "silu"; fused selects CrossEntropy, otherwise LogSoftmax, a one-hot product,
// Sum and Scale by -1/N.
func ourMLP(net *oracleNet, act string, fused bool) (oracleResult, error) {
	x := FromSlice(append([]float64(nil), net.x...), net.n, net.din) // [N, Din]
	w1 := FromSlice(append([]float64(nil), net.w1...), net.din, net.h)
	b1 := FromSlice(append([]float64(nil), net.b1...), net.h)
	w2 := FromSlice(append([]float64(nil), net.w2...), net.h, net.c)
	b2 := FromSlice(append([]float64(nil), net.b2...), net.c)
	params := []*Tensor{w1, b1, w2, b2}
	for _, p := range params {
		p.SetRequiresGrad(true)
	}
	tp := NewTape()
	defer tp.Reset()
	pre := tp.Add(tp.MatMul(x, w1, false, false), b1) // [N, H]
	var hid *Tensor                                   // [N, H]
	switch act {
	case "sigmoid":
		hid = tp.Sigmoid(pre)
	case "silu":
		hid = tp.SiLU(pre)
	default:
		return oracleResult{}, fmt.Errorf("unknown activation %q", act)
	}
	z := tp.Add(tp.MatMul(hid, w2, false, false), b2) // [N, C]
	var loss *Tensor                                  // [1]
	if fused {
		loss = tp.CrossEntropy(z, net.targets, -1)
	} else {
		oh := FromSlice(net.oneHot(), net.n, net.c) // [N, C]
		loss = tp.Scale(tp.Sum(tp.Mul(tp.LogSoftmax(z), oh)), -1/float64(net.n))
	}
	if err := tp.Backward(loss); err != nil {
		return oracleResult{}, err
	}
	res := oracleResult{loss: loss.Item()}
	for i, p := range params {
		res.grads[i] = append([]float64(nil), Grads[float64](p)...)
	}
	return res, nil
}

// oracleWorst returns the worst relative error between two results over the
// loss and the four gradients, and which quantity it was.
func oracleWorst(a, b oracleResult) (float64, string) {
	worst, what := normRelErr([]float64{a.loss}, []float64{b.loss}), "loss"
	for i := range a.grads {
		if len(a.grads[i]) != len(b.grads[i]) {
			return 1, "len(d" + oracleParamNames[i] + ")"
		}
		if e := normRelErr(a.grads[i], b.grads[i]); e > worst {
			worst, what = e, "d"+oracleParamNames[i]
		}
	}
	return worst, what
}

var oracleSizes = []struct {
	name         string
	n, din, h, c int
}{
	{"awkward", 7, 5, 9, 4},
	{"larger", 67, 48, 130, 33},
}

func TestOracleGorgoniaMLP(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, sz := range oracleSizes {
		net := newOracleNet(rng, sz.n, sz.din, sz.h, sz.c)
		for _, act := range []string{"sigmoid", "silu"} {
			for _, explicit := range []bool{false, true} {
				want, err := gorgoniaMLP(net, act, explicit)
				if err != nil {
					t.Fatalf("%s %s: %v", sz.name, act, err)
				}
				for _, fused := range []bool{true, false} {
					got, err := ourMLP(net, act, fused)
					if err != nil {
						t.Fatalf("%s %s: %v", sz.name, act, err)
					}
					rel, what := oracleWorst(got, want)
					if rel > oracleTol {
						t.Errorf("%s %s (gorgonia explicit LSE %v, fused CE %v): %s relative error %.3g > %g (loss %v vs %v)",
							sz.name, act, explicit, fused, what, rel, oracleTol, got.loss, want.loss)
					}
				}
			}
		}
	}
}

// TestOracleGorgoniaDetectsPerturbation shows the comparison can fail: a small
// change to one weight, or a different activation, on one side only, is caught.
func TestOracleGorgoniaDetectsPerturbation(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	net := newOracleNet(rng, 7, 5, 9, 4)
	want, err := gorgoniaMLP(net, "sigmoid", false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		perturb func(*oracleNet)
		act     string
	}{
		{"W1[3,2] + 1e-3", func(n *oracleNet) { n.w1[3*n.h+2] += 1e-3 }, "sigmoid"},
		{"b2[1] - 1e-3", func(n *oracleNet) { n.b2[1] -= 1e-3 }, "sigmoid"},
		{"target 0 moved", func(n *oracleNet) { n.targets[0] = (n.targets[0] + 1) % int32(n.c) }, "sigmoid"},
		{"silu for sigmoid", func(*oracleNet) {}, "silu"},
	}
	for _, tc := range tests {
		p := net.clone()
		tc.perturb(p)
		got, err := ourMLP(p, tc.act, true)
		if err != nil {
			t.Fatal(err)
		}
		if rel, what := oracleWorst(got, want); rel <= oracleTol {
			t.Errorf("%s: not detected, worst relative error %.3g (%s)", tc.name, rel, what)
		}
	}
}

// TestOracleGorgoniaTanhVsSigmoid holds gorgonia's tanh network against our
// sigmoid one through the identity tanh(u) = 2·sigmoid(2u) - 1: with W1, b1
// doubled, W2' = 2·W2 and b2' = b2 - (column sums of W2), the sigmoid network
// computes the same logits, since tanh(u)·W2 + b2 = sigmoid(2u)·W2' + b2'.
func TestOracleGorgoniaTanhVsSigmoid(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, sz := range oracleSizes {
		net := newOracleNet(rng, sz.n, sz.din, sz.h, sz.c)
		want, err := gorgoniaMLP(net, "tanh", false)
		if err != nil {
			t.Fatal(err)
		}
		s := net.clone()
		for i := range s.w1 {
			s.w1[i] *= 2
		}
		for i := range s.b1 {
			s.b1[i] *= 2
		}
		for j := range s.b2 {
			for i := range s.h {
				s.b2[j] -= net.w2[i*net.c+j]
			}
		}
		for i := range s.w2 {
			s.w2[i] *= 2
		}
		got, err := ourMLP(s, "sigmoid", true)
		if err != nil {
			t.Fatal(err)
		}
		// Chain rule through the reparametrisation back to tanh's weights:
		// dW1 = 2·dW1', db1 = 2·db1', dW2[i,j] = 2·dW2'[i,j] - db2'[j], db2 = db2'.
		back := oracleResult{loss: got.loss}
		back.grads[0] = scaled(got.grads[0], 2)
		back.grads[1] = scaled(got.grads[1], 2)
		back.grads[2] = scaled(got.grads[2], 2)
		for i := range net.h {
			for j := range net.c {
				back.grads[2][i*net.c+j] -= got.grads[3][j]
			}
		}
		back.grads[3] = got.grads[3]
		if rel, what := oracleWorst(back, want); rel > oracleTol {
			t.Errorf("%s: tanh network (gorgonia) vs sigmoid reparametrisation (ours): %s relative error %.3g > %g",
				sz.name, what, rel, oracleTol)
		}
	}
}

func scaled(v []float64, s float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * s
	}
	return out
}
