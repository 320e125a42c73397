package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// version is the release version, set at link time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// exitError carries a specific exit code up to Execute.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// NewRootCommand builds the moetrain command tree writing to the given streams.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "moetrain",
		Short: "Train Mixture-of-Experts transformer language models",
		Long: `moetrain trains Mixture-of-Experts (MoE) transformer language models from scratch on CPUs
(pretrain), evaluates them (eval), samples from them (generate), times their training steps
(bench), and exchanges checkpoints with HuggingFace's Mixtral and Llama layouts (export, import).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCommand())
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands lists constructors of subcommands registered by other files.
var extraCommands []func() *cobra.Command

// Execute runs the CLI with args and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(normaliseArgs(args))
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "moetrain: %v\n", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}
