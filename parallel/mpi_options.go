package parallel

import "time"

// MPIOptions configures NewMPI.
type MPIOptions struct {
	// Timeout bounds each collective call; zero means DefaultTimeout. Under
	// MPI a call that times out also ends the whole job (see NewMPI).
	Timeout time.Duration
}
