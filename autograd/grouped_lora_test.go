package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Mutations caught:
//   - the adapter's forward term dropped, or its scale s left out:
//     TestGroupedLoRAMatchesComposition, TestGroupedLoRAGrad.
//   - u_e written with row stride M instead of m_e (or at M·offsets[e]):
//     TestGroupedLoRAMatchesComposition, TestGroupedLoRAGrad.
//   - the adapter's part of dx dropped when xa = x, or written with the
//     base's beta (overwriting it): TestGroupedLoRAGrad,
//     TestGroupedLoRAMatchesComposition.
//   - db added untransposed (db_e += s·u_e·g_e read as [Out, R]), or with
//     s missing: TestGroupedLoRAGrad, TestGroupedLoRAMatchesComposition.
//   - round 2 skipped for groups whose dw rides with their rows (da and db
//     of small groups never computed): TestGroupedLoRAMatchesComposition.
//   - the weight gradients of empty groups not cleared on overwrite:
//     TestGroupedLoRAMatchesComposition (stale pass).
//   - a gradient computed (and its buffer taken) for an input that does not
//     require grad, e.g. dw of a frozen base: TestGroupedLoRAFrozenInputs.
//   - a shape check removed (b's rank against a's): TestGroupedLoRABadShapes.

// TestGroupedLoRAGrad checks every input's gradient against finite
// differences in float64 (and float32 against float64), with the adapter
// on x itself and on a separate input, an empty group, all rows in one
// group, and ranks 1 and 3.
func TestGroupedLoRAGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	cases := []struct {
		offsets      []int
		din, dout, r int
	}{
		{[]int{0, 1}, 1, 1, 1},
		{[]int{0, 2, 2, 5}, 3, 4, 2},    // an empty group
		{[]int{0, 0, 0, 7, 7}, 5, 2, 3}, // all rows in one group
		{[]int{0, 3, 4, 6}, 7, 5, 3},
	}
	for _, c := range cases {
		e, m := len(c.offsets)-1, c.offsets[len(c.offsets)-1]
		x, xa := param(rng, m, c.din), param(rng, m, c.din)
		w, a, b := param(rng, e, c.dout, c.din), param(rng, e, c.r, c.din), param(rng, e, c.dout, c.r)
		name := fmt.Sprintf("GroupedLoRA %v r=%d", c.offsets, c.r)
		checkOp(t, name+" xa=x", func(tp *Tape, in []*Tensor) *Tensor {
			return tp.GroupedLoRA(in[0], in[1], in[0], in[2], in[3], c.offsets, 1.7)
		}, x, w, a, b)
		checkOp(t, name+" own xa", func(tp *Tape, in []*Tensor) *Tensor {
			return tp.GroupedLoRA(in[0], in[1], in[2], in[3], in[4], c.offsets, -0.6)
		}, x, w, xa, a, b)
	}
}

// loraComposed is the reference GroupedLoRA stands for: three grouped
// products, a scale and a sum.
func loraComposed(tp *Tape, x, w, xa, a, b *Tensor, offsets []int, s float64) *Tensor {
	return tp.Add(tp.GroupedMatMul(x, w, offsets), tp.Scale(tp.GroupedMatMul(tp.GroupedMatMul(xa, a, offsets), b, offsets), s))
}

// TestGroupedLoRAMatchesComposition holds the fused op equal to the
// composition, in float32 on this machine's GEMM route, at sizes that are
// cut into pieces on four cores, with groups of few rows (their dw beside
// their rows) and of many (dw by Out), an empty group, the adapter on x and
// on its own input: outputs and every gradient, into fresh buffers, into
// stale ones (ZeroGrad: overwritten) and accumulated over a second pass.
func TestGroupedLoRAMatchesComposition(t *testing.T) {
	eng := NewEngine(EngineOptions{Cores: 4})
	defer eng.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	offsets := []int{0, 40, 40, 340, 363, 700, 1000}
	const din, dout, r = 96, 160, 8
	e, m := len(offsets)-1, offsets[len(offsets)-1]
	f32 := func(shape ...int) *Tensor {
		p := ToFloat32(RandN(rng, 0.5, shape...))
		p.SetRequiresGrad(true)
		return p
	}
	for _, ownXA := range []bool{false, true} {
		x, w, xa, a, b := f32(m, din), f32(e, dout, din), f32(m, din), f32(e, r, din), f32(e, dout, r)
		if !ownXA {
			xa = x
		}
		probe := f32(m, dout) // d loss / d out
		probe.SetRequiresGrad(false)
		inputs := []*Tensor{x, w, xa, a, b}
		if !ownXA {
			inputs = []*Tensor{x, w, a, b}
		}
		// run starts from fresh gradient buffers, or from stale ones full of
		// garbage that ZeroGrad must hide.
		run := func(fused, fresh bool, passes int) ([]float32, [][]float32) {
			for _, p := range inputs {
				if fresh {
					p.g32 = nil
					continue
				}
				p.Grad() // make sure a buffer exists
				if p.g32 == nil {
					p.g32 = make([]float32, p.Len())
				}
				for i := range p.g32 {
					p.g32[i] = 1e6
				}
				p.ZeroGrad()
			}
			var out []float32
			for range passes {
				tp := NewTapeOn(eng)
				var y *Tensor
				if fused {
					y = tp.GroupedLoRA(x, w, xa, a, b, offsets, 0.75)
				} else {
					y = loraComposed(tp, x, w, xa, a, b, offsets, 0.75)
				}
				out = append(out[:0], y.F32()...)
				if err := tp.Backward(tp.Sum(tp.Mul(y, probe))); err != nil {
					t.Fatal(err)
				}
				tp.Reset()
			}
			var grads [][]float32
			for _, p := range inputs {
				grads = append(grads, append([]float32(nil), p.Grad().F32()...))
			}
			return out, grads
		}
		for _, passes := range []int{1, 2} {
			for _, fresh := range []bool{true, false} {
				wantOut, wantGrads := run(false, fresh, passes)
				gotOut, gotGrads := run(true, fresh, passes)
				where := fmt.Sprintf("own xa %v, %d passes, fresh buffers %v", ownXA, passes, fresh)
				if err := closeF32(gotOut, wantOut, 1e-4); err != "" {
					t.Fatalf("%s: out %s", where, err)
				}
				for i := range inputs {
					if err := closeF32(gotGrads[i], wantGrads[i], 1e-4); err != "" {
						t.Fatalf("%s: gradient of input %d %v: %s", where, i, inputs[i].shape, err)
					}
				}
			}
		}
	}
}

// closeF32 describes the first element where got and want differ by more
// than tol relative to want's largest magnitude, or returns "".
func closeF32(got, want []float32, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d elements, want %d", len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			return fmt.Sprintf("element %d: %v, want %v (scale %v)", i, got[i], want[i], scale)
		}
	}
	return ""
}

// TestGroupedLoRAFrozenInputs: for every choice of inputs that require
// grad, exactly those get a gradient (the others no buffer at all), equal to
// the composition's; with all frozen, nothing is recorded.
func TestGroupedLoRAFrozenInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	offsets := []int{0, 3, 3, 9, 12}
	const din, dout, r = 5, 6, 2
	e, m := len(offsets)-1, offsets[len(offsets)-1]
	names := []string{"x", "w", "xa", "a", "b"}
	for mask := range 1 << 5 {
		x, w, xa := RandN(rng, 1, m, din), RandN(rng, 1, e, dout, din), RandN(rng, 1, m, din)
		a, b := RandN(rng, 1, e, r, din), RandN(rng, 1, e, dout, r)
		inputs := []*Tensor{x, w, xa, a, b}
		var trained []string
		for i, p := range inputs {
			if mask&(1<<i) != 0 {
				p.SetRequiresGrad(true)
				trained = append(trained, names[i])
			}
		}
		grads := func(fused bool) [][]float64 {
			for _, p := range inputs {
				p.g64 = nil
			}
			tp := NewTape()
			var y *Tensor
			if fused {
				y = tp.GroupedLoRA(x, w, xa, a, b, offsets, 1.3)
			} else {
				y = loraComposed(tp, x, w, xa, a, b, offsets, 1.3)
			}
			if mask == 0 {
				if y.RequiresGrad() || tp.Len() != 0 {
					t.Fatalf("nothing requires grad, yet the output does (%v) or ops were recorded (%d)", y.RequiresGrad(), tp.Len())
				}
				return nil
			}
			if err := tp.Backward(tp.Sum(tp.Mul(y, y))); err != nil {
				t.Fatal(err)
			}
			out := make([][]float64, len(inputs))
			for i, p := range inputs {
				if p.HasGrad() {
					out[i] = append([]float64(nil), p.Grad().F64()...)
				}
			}
			return out
		}
		want, got := grads(false), grads(true)
		for i := range want {
			where := fmt.Sprintf("training %s: %s", strings.Join(trained, ","), names[i])
			if (got[i] != nil) != (mask&(1<<i) != 0) {
				t.Fatalf("%s has a gradient: %v, requires grad: %v", where, got[i] != nil, mask&(1<<i) != 0)
			}
			for j := range want[i] {
				if d := got[i][j] - want[i][j]; d > 1e-10 || d < -1e-10 {
					t.Fatalf("%s element %d: fused %v, composed %v", where, j, got[i][j], want[i][j])
				}
			}
		}
	}
}

// TestGroupedLoRABadShapes: operands that do not fit and offsets that do not
// cover the rows panic with the op's name, as GroupedMatMul does.
func TestGroupedLoRABadShapes(t *testing.T) {
	x, w := New(Float64, 4, 3), New(Float64, 2, 5, 3)
	a, b := New(Float64, 2, 2, 3), New(Float64, 2, 5, 2)
	ok := []int{0, 1, 4}
	cases := map[string]func(tp *Tape){
		"xa rows":   func(tp *Tape) { tp.GroupedLoRA(x, w, New(Float64, 3, 3), a, b, ok, 1) },
		"a's In":    func(tp *Tape) { tp.GroupedLoRA(x, w, x, New(Float64, 2, 2, 4), b, ok, 1) },
		"b's rank":  func(tp *Tape) { tp.GroupedLoRA(x, w, x, a, New(Float64, 2, 5, 3), ok, 1) },
		"b's Out":   func(tp *Tape) { tp.GroupedLoRA(x, w, x, a, New(Float64, 2, 4, 2), ok, 1) },
		"a's E":     func(tp *Tape) { tp.GroupedLoRA(x, w, x, New(Float64, 3, 2, 3), b, ok, 1) },
		"offsets":   func(tp *Tape) { tp.GroupedLoRA(x, w, x, a, b, []int{0, 1, 3}, 1) },
		"decrease":  func(tp *Tape) { tp.GroupedLoRA(x, w, x, a, b, []int{0, 5, 4}, 1) },
		"dtype mix": func(tp *Tape) { tp.GroupedLoRA(x, w, x, ToFloat32(a), b, ok, 1) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				p := recover()
				if p == nil {
					t.Errorf("%s: no panic", name)
					return
				}
				if s := fmt.Sprint(p); !strings.Contains(s, "GroupedLoRA") {
					t.Errorf("%s: panic %q does not name the op", name, s)
				}
			}()
			f(NewTape())
		}()
	}
}
