package autograd

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// RoPE applies rotary position embeddings to x [B, T, H, Dh] in the
// rotate_half convention of Hugging Face Llama/Mixtral: with half = Dh/2, the
// pair (x[i], x[i+half]) at position p = posOffset+t is rotated by the angle
// p · theta^(-2i/Dh). posOffset is the position of the first of the T steps
// (the length of a KV cache). The cos/sin tables are computed once per
// (Dh, theta) and grown as positions beyond them are requested, so steady
// training or decoding does no trigonometry. It panics unless x is 4-D with
// an even Dh, theta > 0 and posOffset >= 0.
func (tp *Tape) RoPE(x *Tensor, theta float64, posOffset int) *Tensor {
	if len(x.shape) != 4 || x.shape[3]%2 != 0 {
		panic(fmt.Sprintf("autograd.RoPE: x must be [B, T, H, Dh] with even Dh, got %v", x.shape))
	}
	if !(theta > 0) || math.IsInf(theta, 1) || posOffset < 0 {
		panic(fmt.Sprintf("autograd.RoPE: theta %v and posOffset %d must be positive and non-negative", theta, posOffset))
	}
	t, h, dh := x.shape[1], x.shape[2], x.shape[3]
	out := tp.allocDirty(x.dtype, x.shape...) // every element is written
	if x.Len() == 0 {
		return out
	}
	tab := tp.eng.ropeTables(dh, theta, posOffset+t)
	lo, hi := posOffset*dh/2, (posOffset+t)*dh/2 // table rows posOffset..posOffset+T-1
	if x.dtype == Float64 {
		nnRopeOp(tp, x, out, tab.cos64[lo:hi], tab.sin64[lo:hi], t, h, dh)
	} else {
		nnRopeOp(tp, x, out, tab.cos32[lo:hi], tab.sin32[lo:hi], t, h, dh)
	}
	return out
}

func nnRopeOp[T Float](tp *Tape, x, out *Tensor, cos, sin []T, t, h, dh int) {
	rows := x.Len() / dh
	nnRopeRotate(tp.eng, Values[T](out), Values[T](x), cos, sin, rows, t, h, dh, false, false)
	tp.record("RoPE", out, func() {
		gx, beta := gradForOverwrite[T](tp, x)
		nnRopeRotate(tp.eng, gx, Grads[T](out), cos, sin, rows, t, h, dh, true, beta == 1)
	}, x)
}

// nnRopeRotate writes (or, with add, adds) the rotation of src to dst for
// rows of Dh elements ordered [B, T, H]; inverse rotates by the negated
// angle, which is the adjoint of the orthogonal rotation (the backward pass).
func nnRopeRotate[T Float](e *Engine, dst, src, cos, sin []T, rows, t, h, dh int, inverse, add bool) {
	half := dh / 2
	e.parallelFor(rows, 2*dh, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			pos := (r / h) % t
			nnRopeRow(dst[r*dh:][:half], dst[r*dh+half:][:half], src[r*dh:][:half], src[r*dh+half:][:half],
				cos[pos*half:][:half], sin[pos*half:][:half], inverse, add)
		}
	})
}

// nnRopeRow rotates one row's halves x1, x2 into y1, y2 by the angles whose
// cosines and sines are c and s (negated when inverse): the vector kernel
// (ropeVec32) does what it can, the loops the rest, with the same roundings
// (the conversions forbid fused multiply-adds).
func nnRopeRow[T Float](y1, y2, x1, x2, c, s []T, inverse, add bool) {
	done := 0
	if c32, ok := any(c).([]float32); ok {
		done = ropeVec32(any(y1).([]float32), any(y2).([]float32), any(x1).([]float32), any(x2).([]float32), c32, any(s).([]float32), inverse, add)
	}
	for i := done; i < len(c); i++ {
		var a, b T
		if inverse {
			a, b = T(x1[i]*c[i])+T(x2[i]*s[i]), T(x2[i]*c[i])-T(x1[i]*s[i])
		} else {
			a, b = T(x1[i]*c[i])-T(x2[i]*s[i]), T(x2[i]*c[i])+T(x1[i]*s[i])
		}
		if add {
			a, b = y1[i]+a, y2[i]+b
		}
		y1[i], y2[i] = a, b
	}
}

// nnRopeTable holds cos and sin of pos · theta^(-2i/Dh) for positions
// [0, npos) and i in [0, Dh/2), laid out [npos, Dh/2], in both dtypes. A
// published table is never modified.
type nnRopeTable struct {
	npos         int
	cos64, sin64 []float64
	cos32, sin32 []float32
}

type nnRopeKey struct {
	dh    int
	theta float64
}

// nnRopeEntry is the cache slot of one (Dh, theta): readers load the current
// table without locking; growth happens under mu and publishes a new table.
type nnRopeEntry struct {
	mu  sync.Mutex
	tab atomic.Pointer[nnRopeTable]
}

// ropeTables returns a table of the engine's covering at least positions
// [0, npos). The engine's cache (Engine.ropes, nnRopeKey to *nnRopeEntry)
// stays small: models use one or two (Dh, theta) pairs; tapes on many
// goroutines share it.
func (e *Engine) ropeTables(dh int, theta float64, npos int) *nnRopeTable {
	key := nnRopeKey{dh, theta}
	v, ok := e.ropes.Load(key)
	if !ok {
		v, _ = e.ropes.LoadOrStore(key, &nnRopeEntry{})
	}
	ent := v.(*nnRopeEntry)
	if tab := ent.tab.Load(); tab != nil && tab.npos >= npos {
		return tab
	}
	ent.mu.Lock()
	defer ent.mu.Unlock()
	tab := ent.tab.Load()
	if tab != nil && tab.npos >= npos {
		return tab
	}
	size := 64 // grow geometrically, so decoding one position at a time rebuilds rarely
	if tab != nil {
		size = 2 * tab.npos
	}
	for size < npos {
		size *= 2
	}
	tab = nnNewRopeTable(dh, theta, size)
	ent.tab.Store(tab)
	return tab
}

// nnNewRopeTable computes the table for positions [0, npos) in float64.
func nnNewRopeTable(dh int, theta float64, npos int) *nnRopeTable {
	half := dh / 2
	n := npos * half
	tab := &nnRopeTable{npos: npos,
		cos64: make([]float64, n), sin64: make([]float64, n),
		cos32: make([]float32, n), sin32: make([]float32, n)}
	inv := make([]float64, half) // theta^(-2i/Dh)
	for i := range inv {
		inv[i] = math.Pow(theta, -float64(2*i)/float64(dh))
	}
	for p := 0; p < npos; p++ {
		for i, f := range inv {
			s, c := math.Sincos(float64(p) * f)
			j := p*half + i
			tab.cos64[j], tab.sin64[j] = c, s
			tab.cos32[j], tab.sin32[j] = float32(c), float32(s)
		}
	}
	return tab
}
