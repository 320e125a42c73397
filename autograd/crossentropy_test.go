package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

const nnIgnore = -100

func TestCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	tests := []struct {
		name    string
		shape   []int
		targets []int32
	}{
		{"one row", []int{1, 3}, []int32{2}},
		{"one class", []int{2, 1}, []int32{0, 0}},
		{"odd vocabulary", []int{4, 7}, []int32{6, 0, 3, 3}},
		{"ignored targets", []int{5, 5}, []int32{1, nnIgnore, 4, nnIgnore, 0}},
		{"3-D logits", []int{2, 3, 4}, []int32{0, 1, 2, 3, nnIgnore, 1}},
	}
	for _, tc := range tests {
		f := func(tp *Tape, in []*Tensor) *Tensor { return tp.CrossEntropy(in[0], tc.targets, nnIgnore) }
		checkOp(t, "CrossEntropy "+tc.name, f, param(rng, tc.shape...))
	}
}

func TestCrossEntropyHand(t *testing.T) {
	// -log softmax at the target, by hand: row 0 is log(e + e² + e³) - 3,
	// row 1 is log(e + e⁻¹ + e^0.5) - 1.
	want := (0.40760596444438013 + (math.Log(math.E+math.Exp(-1)+math.Exp(0.5)) - 1)) / 2
	for _, dt := range nnDTypes {
		x := nnAs(FromSlice([]float64{1, 2, 3, 1, -1, 0.5}, 2, 3), dt)
		x.SetRequiresGrad(true)
		tp := NewTape()
		loss := tp.CrossEntropy(x, []int32{2, 0}, nnIgnore)
		if !sameShape(loss.Shape(), []int{1}) || !nnClose(loss.Item(), want, nnTol(dt)) {
			t.Errorf("%v CrossEntropy = %v (shape %v), want %v", dt, loss.At(0), loss.Shape(), want)
		}
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		// Gradient: (softmax - onehot) / 2 per row.
		for r, tgt := range []int{2, 0} {
			p := nnRefSoftmax([]float64{1, 2, 3, 1, -1, 0.5}[3*r : 3*r+3])
			for i := range 3 {
				w := p[i] / 2
				if i == tgt {
					w -= 0.5
				}
				if got := x.GradAt(3*r + i); !nnClose(got, w, nnTol(dt)) {
					t.Errorf("%v CrossEntropy grad[%d,%d] = %v, want %v", dt, r, i, got, w)
				}
			}
		}
	}
}

func TestCrossEntropyMatchesComposite(t *testing.T) {
	// Large enough to run in parallel; a quarter of the targets ignored.
	const n, v = 96, 4099
	rng := rand.New(rand.NewPCG(17, 18))
	x64 := RandN(rng, 4, n, v)
	targets := make([]int32, n)
	count := 0
	for i := range targets {
		targets[i] = int32(rng.IntN(v))
		if i%4 == 1 {
			targets[i] = nnIgnore
		} else {
			count++
		}
	}
	// The unfused reference: mean of -LogSoftmax picked at the targets.
	ls := NewNoGradTape().LogSoftmax(x64)
	var want float64
	for r, tgt := range targets {
		if tgt != nnIgnore {
			want -= ls.At(r*v + int(tgt))
		}
	}
	want /= float64(count)
	for _, dt := range nnDTypes {
		got := NewNoGradTape().CrossEntropy(nnAs(x64, dt), targets, nnIgnore).Item()
		if !nnClose(got, want, 10*nnTol(dt)) {
			t.Errorf("%v CrossEntropy = %v, want %v", dt, got, want)
		}
	}
}

func TestCrossEntropyAllIgnored(t *testing.T) {
	for _, dt := range nnDTypes {
		x := nnAs(FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3), dt)
		x.SetRequiresGrad(true)
		tp := NewTape()
		loss := tp.CrossEntropy(x, []int32{nnIgnore, nnIgnore}, nnIgnore)
		if loss.Item() != 0 {
			t.Errorf("%v CrossEntropy with every target ignored = %v, want 0", dt, loss.Item())
		}
		if err := tp.Backward(loss); err != nil {
			t.Fatal(err)
		}
		for i := range x.Len() {
			if g := x.GradAt(i); g != 0 {
				t.Fatalf("%v CrossEntropy with every target ignored: grad[%d] = %v, want 0", dt, i, g)
			}
		}
	}
}

func TestCrossEntropyPanics(t *testing.T) {
	x := New(Float32, 2, 3)
	tests := []struct {
		name    string
		targets []int32
	}{
		{"target = V", []int32{0, 3}},
		{"negative target", []int32{-1, 0}},
		{"target count", []int32{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("CrossEntropy with %s did not panic", tc.name)
				}
			}()
			NewNoGradTape().CrossEntropy(x, tc.targets, nnIgnore)
		})
	}
}

func ExampleTape_CrossEntropy() {
	logits := FromSlice([]float32{
		2, 0, 0, // row 0: target 0, the most likely class
		0, 0, 0, // row 1: ignored
	}, 2, 3)
	logits.SetRequiresGrad(true)
	tp := NewTape()
	loss := tp.CrossEntropy(logits, []int32{0, -100}, -100)
	if err := tp.Backward(loss); err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", loss.Item())
	fmt.Printf("grad row 0 %.4f\n", logits.Grad().F32()[:3])
	fmt.Printf("grad row 1 %.4f\n", logits.Grad().F32()[3:])
	// Output:
	// loss 0.2395
	// grad row 0 [-0.2130 0.1065 0.1065]
	// grad row 1 [0.0000 0.0000 0.0000]
}
