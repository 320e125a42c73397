package parallel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/moetrain/moetrain/parallel"
)

// benchSizes are the per-rank message sizes in bytes, 4 KiB to 64 MiB.
var benchSizes = []int{4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20}

// benchCollective runs call on every rank of a local world b.N times; the
// reported bytes/s is per rank: the message size over the time of one call.
func benchCollective(b *testing.B, world, bytes int, call func(c parallel.Comm, send, recv []float32, counts []int) error) {
	comms, err := parallel.NewLocal(world, parallel.LocalOptions{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	l := bytes / 4
	sends, recvs := make([][]float32, world), make([][]float32, world)
	for r := range world {
		sends[r], recvs[r] = make([]float32, l), make([]float32, l)
		for i := range sends[r] {
			sends[r][i] = float32(i % 7)
		}
	}
	counts := make([]int, world)
	for d := range counts {
		counts[d] = l / world
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for r, err := range parallel.Run(comms, func(c parallel.Comm) error {
		for range b.N {
			if err := call(c, sends[c.Rank()], recvs[c.Rank()], counts); err != nil {
				return err
			}
		}
		return nil
	}) {
		if err != nil {
			b.Fatalf("rank %d: %v", r, err)
		}
	}
}

func BenchmarkLocalAllReduce(b *testing.B) {
	for _, world := range []int{2, 4} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("world=%d/bytes=%d", world, size), func(b *testing.B) {
				benchCollective(b, world, size, func(c parallel.Comm, send, _ []float32, _ []int) error {
					return c.AllReduce(send, parallel.Sum)
				})
			})
		}
	}
}

func BenchmarkLocalAllToAllV(b *testing.B) {
	for _, world := range []int{2, 4} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("world=%d/bytes=%d", world, size), func(b *testing.B) {
				benchCollective(b, world, size, func(c parallel.Comm, send, recv []float32, counts []int) error {
					return c.AllToAllV(send, counts, recv, counts)
				})
			})
		}
	}
}
