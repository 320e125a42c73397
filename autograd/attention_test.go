package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// attnCase is one Attention geometry: q [B,Tq,H,Dh], k and v [B,Tk,Hkv,Dh].
type attnCase struct {
	b, tq, tk, h, hkv, dh int
	causal                bool
}

func (c attnCase) String() string {
	return fmt.Sprintf("B%d_Tq%d_Tk%d_H%d_Hkv%d_Dh%d_causal=%v", c.b, c.tq, c.tk, c.h, c.hkv, c.dh, c.causal)
}

func (c attnCase) inputs(rng *rand.Rand) (q, k, v *Tensor) {
	return param(rng, c.b, c.tq, c.h, c.dh), param(rng, c.b, c.tk, c.hkv, c.dh), param(rng, c.b, c.tk, c.hkv, c.dh)
}

// attnReference computes attention from its definition with plain loops in
// float64, materialising each head's [Tq,Tk] probabilities, and the input
// gradients for the output gradient dout through the softmax Jacobian.
func attnReference(c attnCase, q, k, v, dout []float64) (out, dq, dk, dv []float64) {
	out, dq = make([]float64, len(q)), make([]float64, len(q))
	dk, dv = make([]float64, len(k)), make([]float64, len(v))
	scale := 1 / math.Sqrt(float64(c.dh))
	qi := func(b, i, h int) int { return ((b*c.tq+i)*c.h + h) * c.dh }
	kj := func(b, j, g int) int { return ((b*c.tk+j)*c.hkv + g) * c.dh }
	for b := 0; b < c.b; b++ {
		for h := 0; h < c.h; h++ {
			g := h / (c.h / c.hkv)
			p := make([][]float64, c.tq) // [Tq][Tk]
			for i := range p {
				p[i] = make([]float64, c.tk)
				mx := math.Inf(-1)
				for j := range p[i] {
					p[i][j] = math.Inf(-1)
					if c.causal && j > c.tk-c.tq+i {
						continue
					}
					s := 0.0
					for x := 0; x < c.dh; x++ {
						s += q[qi(b, i, h)+x] * k[kj(b, j, g)+x]
					}
					p[i][j] = s * scale
					mx = math.Max(mx, p[i][j])
				}
				sum := 0.0
				for j := range p[i] {
					p[i][j] = math.Exp(p[i][j] - mx)
					sum += p[i][j]
				}
				for j := range p[i] {
					p[i][j] /= sum
					for x := 0; x < c.dh; x++ {
						out[qi(b, i, h)+x] += p[i][j] * v[kj(b, j, g)+x]
					}
				}
			}
			for i := range p {
				dp := make([]float64, c.tk)
				pdp := 0.0
				for j := range dp {
					for x := 0; x < c.dh; x++ {
						dp[j] += dout[qi(b, i, h)+x] * v[kj(b, j, g)+x]
						dv[kj(b, j, g)+x] += p[i][j] * dout[qi(b, i, h)+x]
					}
					pdp += p[i][j] * dp[j]
				}
				for j := range dp {
					ds := p[i][j] * (dp[j] - pdp) * scale
					for x := 0; x < c.dh; x++ {
						dq[qi(b, i, h)+x] += ds * k[kj(b, j, g)+x]
						dk[kj(b, j, g)+x] += ds * q[qi(b, i, h)+x]
					}
				}
			}
		}
	}
	return out, dq, dk, dv
}

func TestAttentionGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []attnCase{
		{1, 1, 1, 1, 1, 4, true},
		{1, 1, 1, 1, 1, 4, false},
		{2, 5, 5, 2, 2, 3, true},
		{2, 5, 5, 2, 2, 3, false},
		{1, 7, 7, 4, 2, 4, true},
		{1, 7, 7, 4, 2, 4, false},
		{2, 4, 4, 4, 1, 2, true},
		{2, 4, 4, 4, 1, 2, false},
		{1, 3, 8, 4, 2, 3, true},  // cache: 3 new queries after 5 cached keys
		{1, 3, 8, 4, 2, 3, false}, //
		{2, 1, 6, 4, 1, 4, true},  // decode step
		{1, 70, 70, 2, 1, 2, true},
		{1, 67, 133, 2, 2, 2, true},
		{1, 67, 133, 2, 2, 2, false},
	} {
		t.Run(c.String(), func(t *testing.T) {
			q, k, v := c.inputs(rng)
			checkOp(t, "Attention", func(tp *Tape, in []*Tensor) *Tensor {
				return tp.Attention(in[0], in[1], in[2], c.causal)
			}, q, k, v)
		})
	}
}

// TestAttentionMatchesReference holds the fused kernel's output and gradients
// equal to attnReference, in float64 and float32, on shapes spanning several
// blocks, for both backward schedules.
func TestAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	twoPasses := 0
	defer func() {
		if twoPasses == 0 {
			t.Errorf("no case ran the two-pass backward schedule")
		}
	}()
	for _, c := range []attnCase{
		{2, 150, 150, 4, 2, 16, true},
		{2, 150, 150, 4, 2, 16, false},
		{1, 130, 200, 4, 1, 64, true}, // one (batch, kv head) pair: two-pass backward on 4 workers
		{1, 130, 200, 4, 1, 64, false},
		{1, 40, 300, 2, 1, 8, true},
		{2, 1, 97, 4, 4, 32, true},
		{2, 1, 97, 8, 2, 32, true}, // decode step: a key/value head's query heads as one block
		{1, 65, 65, 2, 2, 128, true},
		{2, 150, 150, 4, 2, 32, true}, // the presets' head width on the tile kernel
	} {
		for _, workers := range []int{1, 4} {
			d := attnCheckShapes(New(Float32, c.b, c.tq, c.h, c.dh), New(Float32, c.b, c.tk, c.hkv, c.dh), New(Float32, c.b, c.tk, c.hkv, c.dh), c.causal)
			twoPass := attnUseTwoPass(c.b*c.hkv, (c.tk+d.bk-1)/d.bk, workers)
			twoPasses += attnBtoi(twoPass)
			t.Run(fmt.Sprintf("%v/workers=%d/twopass=%v", c, workers, twoPass), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers))
				q, k, v := c.inputs(rng)
				dout := RandN(rng, 1, c.b, c.tq, c.h, c.dh).F64()
				out, dq, dk, dv := attnReference(c, q.F64(), k.F64(), v.F64(), dout)
				want := [][]float64{out, dq, dk, dv}
				for _, tc := range []struct {
					dt  DType
					tol float64
				}{{Float64, 1e-12}, {Float32, 2e-6}} {
					got := attnRunWithGrad(c, q, k, v, dout, tc.dt)
					for i, name := range []string{"out", "dq", "dk", "dv"} {
						if e := normRelErr(got[i], want[i]); e > tc.tol {
							t.Errorf("%v %s: relative error %.3g > %.3g", tc.dt, name, e, tc.tol)
						}
					}
				}
			})
		}
	}
}

func attnBtoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// attnRunWithGrad runs Attention in dtype dt with output gradient dout and
// returns the output and the gradients of q, k, v as float64.
func attnRunWithGrad(c attnCase, q, k, v *Tensor, dout []float64, dt DType) [][]float64 {
	ins := []*Tensor{q, k, v}
	if dt == Float32 {
		for i, in := range ins {
			ins[i] = ToFloat32(in)
			ins[i].SetRequiresGrad(true)
		}
	}
	for _, in := range ins {
		in.ZeroGrad()
	}
	tp := NewTape()
	out := tp.Attention(ins[0], ins[1], ins[2], c.causal)
	var loss *Tensor
	if dt == Float32 {
		w := make([]float32, len(dout))
		for i, x := range dout {
			w[i] = float32(x)
		}
		loss = tp.project(out, w)
	} else {
		loss = tp.project(out, dout)
	}
	if err := tp.Backward(loss); err != nil {
		panic(err)
	}
	res := [][]float64{make([]float64, out.Len())}
	for i := range res[0] {
		res[0][i] = out.At(i)
	}
	for _, in := range ins {
		g := make([]float64, in.Len())
		for i := range g {
			g[i] = in.GradAt(i)
		}
		res = append(res, g)
	}
	return res
}

func TestAttentionBackwardSchedule(t *testing.T) {
	for _, tc := range []struct {
		pairs, nkb, workers int
		want                bool
	}{
		{1, 4, 2, true},
		{1, 1, 2, false}, // one key block: nothing to spread
		{3, 4, 2, false},
		{4, 4, 2, false},
		{1, 4, 1, false},
		{2, 8, 16, true},
		{2, 4, 16, false}, // fewer key blocks than workers
		{32, 4, 16, false},
	} {
		if got := attnUseTwoPass(tc.pairs, tc.nkb, tc.workers); got != tc.want {
			t.Errorf("attnUseTwoPass(%d, %d, %d) = %v, want %v", tc.pairs, tc.nkb, tc.workers, got, tc.want)
		}
	}
}

// TestAttentionDecodeMatchesFull checks the KV-cache contract: the last rows of
// causal attention over T tokens equal attention of just those queries.
func TestAttentionDecodeMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := attnCase{2, 90, 90, 4, 2, 8, true}
	q, k, v := c.inputs(rng)
	tp := NewNoGradTape()
	full := tp.Attention(q, k, v, true) // [B,T,H,Dh]
	row := c.h * c.dh
	for _, tq := range []int{1, 3, 70} {
		qs := New(Float64, c.b, tq, c.h, c.dh)
		for b := 0; b < c.b; b++ {
			copy(qs.F64()[b*tq*row:(b+1)*tq*row], q.F64()[(b*c.tk+c.tk-tq)*row:(b+1)*c.tk*row])
		}
		got := tp.Attention(qs, k, v, true)
		for b := 0; b < c.b; b++ {
			for i := 0; i < tq*row; i++ {
				w := full.At((b*c.tk+c.tk-tq)*row + i)
				if g := got.At(b*tq*row + i); math.Abs(g-w) > 1e-12 {
					t.Fatalf("Tq=%d: element %d of batch %d = %v, full attention has %v", tq, i, b, g, w)
				}
			}
		}
	}
	if tp.Len() != 0 {
		t.Fatalf("no-grad tape recorded %d ops", tp.Len())
	}
}

func TestAttentionPanics(t *testing.T) {
	f64 := func(shape ...int) *Tensor { return New(Float64, shape...) }
	for _, tc := range []struct {
		name    string
		q, k, v *Tensor
		causal  bool
	}{
		{"heads not a multiple", f64(1, 2, 3, 4), f64(1, 2, 2, 4), f64(1, 2, 2, 4), false},
		{"causal Tq > Tk", f64(1, 3, 2, 4), f64(1, 2, 2, 4), f64(1, 2, 2, 4), true},
		{"k and v differ", f64(1, 2, 2, 4), f64(1, 2, 2, 4), f64(1, 3, 2, 4), false},
		{"head width differs", f64(1, 2, 2, 4), f64(1, 2, 2, 3), f64(1, 2, 2, 3), false},
		{"batch differs", f64(2, 2, 2, 4), f64(1, 2, 2, 4), f64(1, 2, 2, 4), false},
		{"not 4-D", f64(2, 2, 8), f64(2, 2, 8), f64(2, 2, 8), false},
		{"no keys", f64(1, 2, 2, 4), f64(1, 0, 2, 4), f64(1, 0, 2, 4), false},
		{"mixed dtypes", f64(1, 2, 2, 4), New(Float32, 1, 2, 2, 4), f64(1, 2, 2, 4), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Attention did not panic")
				}
			}()
			NewTape().Attention(tc.q, tc.k, tc.v, tc.causal)
		})
	}
}

// TestAttnLoopGemm holds the small-block loops equal to the BLAS gemm.
func TestAttnLoopGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const m, n, k, pad = 5, 7, 3, 2
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, beta := range []float64{0, 1, 0.5} {
				lda, ldb := k+pad, n+pad
				if ta {
					lda = m + pad
				}
				if tb {
					ldb = k + pad
				}
				// Exact lengths, as a block at the end of a buffer has.
				a := RandN(rng, 1, (m-1)*lda+k).F64()
				if ta {
					a = RandN(rng, 1, (k-1)*lda+m).F64()
				}
				b := RandN(rng, 1, (k-1)*ldb+n).F64()
				if tb {
					b = RandN(rng, 1, (n-1)*ldb+k).F64()
				}
				c := RandN(rng, 1, m*(n+pad)).F64()
				want := append([]float64(nil), c...)
				gemm(DefaultEngine(), ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, want, n+pad)
				attnLoopGemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, c, n+pad)
				if e := normRelErr(c, want); e > 1e-14 {
					t.Errorf("transA=%v transB=%v beta=%v: relative error %.3g", ta, tb, beta, e)
				}
			}
		}
	}
}

func TestAttnExp32(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 1<<20; i++ {
		x := float32(-87 + (88+87)*float64(i)/(1<<20)) // e^x a normal float32
		want := math.Exp(float64(x))
		worst = max(worst, math.Abs(float64(attnExp32(x))-want)/want)
	}
	if worst > 1.2e-7 { // about one float32 ulp
		t.Errorf("attnExp32 relative error %.3g > 1.2e-7", worst)
	}
	const tiny = 0x1p-149 // the smallest float32 subnormal
	for _, x := range []float32{-88, -95, -103.9} {
		if got, want := float64(attnExp32(x)), math.Exp(float64(x)); math.Abs(got-want) > tiny {
			t.Errorf("attnExp32(%v) = %v, want %v", x, got, want)
		}
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-104.5, 0}, {-1e30, 0},
	} {
		if got := attnExp32(tc.x); got != tc.want {
			t.Errorf("attnExp32(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if nan := float32(math.NaN()); !math.IsNaN(float64(attnExp32(nan))) {
		t.Errorf("attnExp32(NaN) is not NaN")
	}
	row := []float32{0, -1, 2}
	if sum := attnExpRow32(row, 2); math.Abs(float64(sum)-(math.Exp(-2)+math.Exp(-3)+1)) > 1e-6 || row[2] != 1 {
		t.Errorf("attnExpRow32 = %v with sum %v", row, sum)
	}
}
