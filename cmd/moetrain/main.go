// Command moetrain trains Mixture-of-Experts transformer language models.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(Execute(os.Args[1:], rankOutput(os.Getenv, os.Stdout), os.Stderr))
}

// rankOutput is where this process prints: stdout, except on the ranks
// other than 0 of a job that an MPI launcher started (mpirun sets
// OMPI_COMM_WORLD_RANK, srun --mpi=pmix PMIX_RANK), whose output would
// repeat rank 0's. Their errors still go to stderr.
func rankOutput(getenv func(string) string, stdout io.Writer) io.Writer {
	for _, key := range []string{"OMPI_COMM_WORLD_RANK", "PMIX_RANK"} {
		if r := getenv(key); r != "" && r != "0" {
			return io.Discard
		}
	}
	return stdout
}
