package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// nnDTypes lists both dtypes for value tests that run in each.
var nnDTypes = []DType{Float32, Float64}

// nnAs returns a copy of t's value in dtype dt (no gradient).
func nnAs(t *Tensor, dt DType) *Tensor {
	if dt == Float64 {
		return ToFloat64(t)
	}
	return ToFloat32(t)
}

// nnTol is the value tolerance of a kernel in dtype dt.
func nnTol(dt DType) float64 {
	if dt == Float64 {
		return 1e-12
	}
	return 2e-6
}

// nnClose reports whether got is within tol of want, relative to max(1, |want|).
func nnClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// nnRefSoftmax is the textbook softmax of one row, in float64.
func nnRefSoftmax(x []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	var s float64
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Exp(v - m)
		s += y[i]
	}
	for i := range y {
		y[i] /= s
	}
	return y
}

func TestSoftmaxFamilyGrad(t *testing.T) {
	ops := []struct {
		name string
		f    GradFunc
	}{
		{"Softmax", func(tp *Tape, in []*Tensor) *Tensor { return tp.Softmax(in[0]) }},
		{"LogSoftmax", func(tp *Tape, in []*Tensor) *Tensor { return tp.LogSoftmax(in[0]) }},
		{"LogSumExp", func(tp *Tape, in []*Tensor) *Tensor { return tp.LogSumExp(in[0]) }},
	}
	shapes := [][]int{{1, 1}, {1, 7}, {3, 5}, {2, 3, 4}, {5}, {4, 1}}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, op := range ops {
		for _, shape := range shapes {
			checkOp(t, op.name, op.f, param(rng, shape...))
		}
	}
}

func TestSoftmaxValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][]int{{1, 1}, {3, 5}, {2, 3, 7}, {300, 129}} // the last runs in parallel
	for _, dt := range nnDTypes {
		for _, shape := range shapes {
			x64 := RandN(rng, 3, shape...)
			x := nnAs(x64, dt)
			tp := NewNoGradTape()
			y, ly, lse := tp.Softmax(x), tp.LogSoftmax(x), tp.LogSumExp(x)
			cols := shape[len(shape)-1]
			for r := 0; r < x.Len()/cols; r++ {
				row := x64.f64[r*cols : (r+1)*cols]
				want := nnRefSoftmax(row)
				var sum float64
				for i, w := range want {
					got := y.At(r*cols + i)
					sum += got
					if !nnClose(got, w, nnTol(dt)) {
						t.Fatalf("%v %v Softmax[%d,%d] = %v, want %v", dt, shape, r, i, got, w)
					}
					if got, w := ly.At(r*cols+i), math.Log(w); !nnClose(got, w, nnTol(dt)) {
						t.Fatalf("%v %v LogSoftmax[%d,%d] = %v, want %v", dt, shape, r, i, got, w)
					}
				}
				if math.Abs(sum-1) > float64(cols)*nnTol(dt) {
					t.Errorf("%v %v Softmax row %d sums to %v", dt, shape, r, sum)
				}
				wantLSE := row[0] - math.Log(want[0])
				if got := lse.At(r); !nnClose(got, wantLSE, nnTol(dt)) {
					t.Errorf("%v %v LogSumExp[%d] = %v, want %v", dt, shape, r, got, wantLSE)
				}
			}
			if !sameShape(lse.Shape(), shape[:len(shape)-1]) && len(shape) > 1 {
				t.Errorf("LogSumExp shape %v for x %v", lse.Shape(), shape)
			}
		}
	}
}

func TestSoftmaxStableAndSpecial(t *testing.T) {
	for _, dt := range nnDTypes {
		tp := NewNoGradTape()
		// Logits that overflow exp unless the row maximum is subtracted.
		x := nnAs(FromSlice([]float64{1000, 1001, 1002, -1000, -1001, -1002}, 2, 3), dt)
		y, lse := tp.Softmax(x), tp.LogSumExp(x)
		want := nnRefSoftmax([]float64{0, 1, 2})
		for i := range 3 {
			if got := y.At(i); !nnClose(got, want[i], nnTol(dt)) {
				t.Errorf("%v Softmax of large logits [%d] = %v, want %v", dt, i, got, want[i])
			}
			if got := y.At(5 - i); !nnClose(got, want[i], nnTol(dt)) {
				t.Errorf("%v Softmax of very negative logits [%d] = %v, want %v", dt, 5-i, got, want[i])
			}
		}
		if got, want := lse.At(0), 1002+math.Log(1+math.Exp(-1)+math.Exp(-2)); !nnClose(got, want, nnTol(dt)) {
			t.Errorf("%v LogSumExp of large logits = %v, want %v", dt, got, want)
		}
		// A hand value: log(e + e² + e³) for a 1-D input gives shape [1].
		one := tp.LogSumExp(nnAs(FromSlice([]float64{1, 2, 3}, 3), dt))
		if !sameShape(one.Shape(), []int{1}) || !nnClose(one.At(0), 3.40760596444438, nnTol(dt)) {
			t.Errorf("%v LogSumExp([1 2 3]) = %v shape %v, want 3.40760596444438 shape [1]", dt, one.At(0), one.Shape())
		}
		// Infinite maxima: -Inf rows (fully masked) and +Inf give the infinity.
		inf := tp.LogSumExp(nnAs(FromSlice([]float64{math.Inf(-1), math.Inf(-1), math.Inf(1), 0}, 2, 2), dt))
		if !math.IsInf(inf.At(0), -1) || !math.IsInf(inf.At(1), 1) {
			t.Errorf("%v LogSumExp of infinite rows = %v, %v; want -Inf, +Inf", dt, inf.At(0), inf.At(1))
		}
		empty := tp.LogSumExp(New(dt, 2, 0))
		if !sameShape(empty.Shape(), []int{2}) || !math.IsInf(empty.At(0), -1) {
			t.Errorf("%v LogSumExp of an empty axis = %v shape %v, want -Inf shape [2]", dt, empty.At(0), empty.Shape())
		}
	}
}

func TestSoftmaxPanicsOn0D(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Softmax of a 0-D tensor did not panic")
		}
	}()
	NewNoGradTape().Softmax(New(Float64))
}
