package autograd

import (
	"fmt"
	"math"
	"testing"
)

// BenchmarkExpSubSumF32 times the softmax row exponential per element: the
// table-driven scalar kernel it replaced, then expSubSumF32 on each
// instruction set.
func BenchmarkExpSubSumF32(b *testing.B) {
	for _, n := range []int{128, 1024} {
		src := make([]float32, n)
		for i := range src {
			src[i] = -float32(i%200) * 0.1
		}
		dst := make([]float32, n)
		b.Run(fmt.Sprintf("n=%d/table", n), func(b *testing.B) {
			for range b.N {
				copy(dst, src)
				expRowTable32(dst, 0.5)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
		})
		for _, level := range actLevels() {
			b.Run(fmt.Sprintf("n=%d/%s", n, [...]string{"go", "avx2", "avx512"}[level]), func(b *testing.B) {
				actSetSIMD(b, level)
				for range b.N {
					expSubSumF32(dst, src, 0.5)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}

// expRowTable32 is the scalar kernel expSubSumF32 replaced, kept as the
// benchmark's baseline: x-shift in float32 clamped to [-104, 88], e^x =
// 2^m 2^(j/32) p(r) with a 32-entry table and a cubic p, summed in float32.
func expRowTable32(row []float32, shift float32) float32 {
	const (
		round     = 0x1.8p52
		roundBits = 0x4338000000000000
	)
	var sum float32
	for j, x := range row {
		x -= shift
		if x < -104 {
			x = -104
		}
		if x > 88 {
			x = 88
		}
		xd := float64(x)
		t := xd*(32/math.Ln2) + round
		n := int64(math.Float64bits(t) - roundBits)
		r := xd - (t-round)*(math.Ln2/32)
		p := (1 + r) + r*r*(0.5+r*(1.0/6))
		e := float32(p * expTableFrac[n&31] * math.Float64frombits(uint64(n>>5+1023)<<52))
		row[j] = e
		sum += e
	}
	return sum
}

// expTableFrac[j] = 2^(j/32), expRowTable32's table.
var expTableFrac = func() (t [32]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 32)
	}
	return t
}()
