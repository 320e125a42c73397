//go:build !mpi

package parallel

import "errors"

// NewMPI is unavailable in this build: it was compiled without the mpi tag.
func NewMPI(opts MPIOptions) (Comm, error) {
	return nil, errors.New("parallel: this binary was built without MPI support; install Open MPI (mpicc, " +
		"Debian: openmpi-bin libopenmpi-dev) and rebuild with `make build`, which adds the mpi tag when mpicc is found, " +
		"or with `go build -tags mpi`")
}

// MPIBuilt reports whether this binary has the MPI backend: false.
func MPIBuilt() bool { return false }

// MPIVersion is the MPI library's version, empty without MPI support.
func MPIVersion() string { return "" }
