//go:build !mpi

// Mutations caught: an error from NewMPI that does not say how to build
// with MPI makes TestMPIOff fail; MPIBuilt returning true does too.
package parallel_test

import (
	"strings"
	"testing"

	"github.com/moetrain/moetrain/parallel"
)

func TestMPIOff(t *testing.T) {
	c, err := parallel.NewMPI(parallel.MPIOptions{})
	if c != nil || err == nil || !strings.Contains(err.Error(), "-tags mpi") || !strings.Contains(err.Error(), "make build") {
		t.Errorf("NewMPI without the mpi tag: %v, %v; want an error saying how to build with MPI", c, err)
	}
	if parallel.MPIBuilt() || parallel.MPIVersion() != "" {
		t.Errorf("MPIBuilt %v, MPIVersion %q without the mpi tag; want false and empty", parallel.MPIBuilt(), parallel.MPIVersion())
	}
}
