package main

import (
	"fmt"
	"runtime"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/parallel"
	"github.com/spf13/cobra"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, Go version, GEMM, BLAS and SIMD backends, GOMAXPROCS, MPI",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "moetrain %s\n", version)
			fmt.Fprintf(w, "go:         %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "gemm:       %s (float32)\n", autograd.GEMMBackend())
			fmt.Fprintf(w, "blas:       %s\n", autograd.BLASBackend())
			fmt.Fprintf(w, "simd:       %s\n", autograd.SIMDBackend())
			fmt.Fprintf(w, "gomaxprocs: %d\n", runtime.GOMAXPROCS(0))
			fmt.Fprintf(w, "mpi:        %s\n", mpiLine())
			return nil
		},
	}
}

// mpiLine says whether the MPI backend (parallel.backend=mpi) is built in.
func mpiLine() string {
	if !parallel.MPIBuilt() {
		return "not built in (parallel.backend=local only; build with mpicc installed for mpi)"
	}
	return "built in: " + parallel.MPIVersion()
}
