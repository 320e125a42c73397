package train

import (
	"flag"
	"os"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// The tests run with dirty float32 buffers full of NaN (see
// autograd.PoisonDirtyBuffers); benchmark runs do not.
func TestMain(m *testing.M) {
	flag.Parse()
	autograd.PoisonUnlessBenchmarking()
	os.Exit(m.Run())
}
