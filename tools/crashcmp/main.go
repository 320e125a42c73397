// Command crashcmp compares a training run that was killed and resumed with
// an uninterrupted reference run of the same configuration: the final
// checkpoints' model and optimizer tensors bit for bit, their step, samples,
// tokens and sampler state, and the metrics logs record by record (step,
// tokens, losses, learning rate, gradient norm). It works across parallel
// layouts, since it compares the tensors Load assembles, not the files.
//
// Usage:
//
//	crashcmp REFERENCE_RUN_DIR CRASHED_RUN_DIR
//
// Exit status 0 when identical (one summary line), 1 with every difference
// (or a run that cannot be read), 2 on bad usage. tools/crash_test.sh runs it.
package main

import (
	"fmt"
	"io"
	"os"
)

// maxListed is how many differences are printed; the count gives the rest.
const maxListed = 12

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is main with its arguments and streams, returning the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: crashcmp REFERENCE_RUN_DIR CRASHED_RUN_DIR")
		return 2
	}
	diffs, s, err := compareRuns(args[0], args[1])
	if err != nil {
		fmt.Fprintf(stderr, "crashcmp: %v\n", err)
		return 1
	}
	if len(diffs) > 0 {
		for i, d := range diffs {
			if i == maxListed {
				fmt.Fprintf(stderr, "crashcmp: ... and %d more\n", len(diffs)-maxListed)
				break
			}
			fmt.Fprintf(stderr, "crashcmp: %s\n", d)
		}
		fmt.Fprintf(stderr, "crashcmp: %s and %s differ (%d differences)\n", args[0], args[1], len(diffs))
		return 1
	}
	fmt.Fprintf(stdout, "identical: step %d, %d model tensors (%d elements) and the optimizer state bit for bit, samples %.0f, tokens %.0f, %d metrics records\n",
		s.Step, s.Tensors, s.Elements, s.Samples, s.Tokens, s.Records)
	return 0
}
