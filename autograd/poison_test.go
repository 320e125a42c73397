package autograd

import (
	"flag"
	"os"
	"testing"
)

// Every test in the package runs with dirty float32 buffers full of NaN: an
// op that takes an output without zeroing it and leaves an element unwritten
// fails its tests instead of passing on a freshly allocated (zero) buffer.
// Benchmark runs skip it.
func TestMain(m *testing.M) {
	flag.Parse()
	PoisonUnlessBenchmarking()
	os.Exit(m.Run())
}
