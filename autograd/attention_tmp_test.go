package autograd

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

func tmpCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkTmpCPU(b *testing.B) {
	for _, c := range []attnCase{
		{8, 512, 512, 8, 2, 32, true}, {8, 256, 256, 8, 8, 64, false}, {8, 128, 128, 4, 4, 64, true},
	} {
		for _, bwd := range []bool{false, true} {
			name := "fwd/"
			if bwd {
				name = "fwdbwd/"
			}
			b.Run(name+c.String(), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				q64, k64, v64 := c.inputs(rng)
				q, k, v := ToFloat32(q64), ToFloat32(k64), ToFloat32(v64)
				for _, x := range []*Tensor{q, k, v} {
					x.SetRequiresGrad(bwd)
				}
				w := ToFloat32(RandN(rng, 1, c.b*c.tq*c.h*c.dh)).F32()
				tp := NewNoGradTape()
				flops := attnFlops(c)
				if bwd {
					tp = NewTape()
					flops *= 3.5
				}
				b.ResetTimer()
				c0 := tmpCPU()
				for range b.N {
					out := tp.Attention(q, k, v, c.causal)
					if bwd {
						tp.Backward(tp.project(out, w))
					}
					tp.Reset()
				}
				cpu := tmpCPU() - c0
				b.ReportMetric(flops*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkTmpThreads(b *testing.B) {
	for _, sz := range [][3]int{{64, 64, 64}, {64, 128, 64}, {64, 64, 65}, {128, 128, 64}, {64, 128, 128}} {
		m, n, k := sz[0], sz[1], sz[2]
		a := make([]float32, m*k)
		bt := make([]float32, n*k)
		c := make([]float32, m*n)
		b.Run(fmt.Sprint(sz), func(b *testing.B) {
			c0 := tmpCPU()
			for range b.N {
				gemm(false, true, m, n, k, 1, a, k, bt, k, 0, c, n)
			}
			b.ReportMetric((tmpCPU()-c0).Seconds()/b.Elapsed().Seconds(), "cpu/wall")
		})
	}
}
