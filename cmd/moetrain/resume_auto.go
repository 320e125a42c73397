package main

import (
	"fmt"
	"io"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/spf13/cobra"
)

// resumeMode is what a training command's --resume asks for: "" (a fresh
// run), resumeLatest or resumeAuto.
type resumeMode string

const (
	// resumeLatest (bare --resume) continues from the checkpoint latest
	// names, strictly: a damaged one is an error.
	resumeLatest resumeMode = "latest"
	// resumeAuto (--resume auto) continues from the newest checkpoint that
	// verifies, saying which ones it passed over and why.
	resumeAuto resumeMode = "auto"
)

// String implements pflag.Value.
func (m *resumeMode) String() string { return string(*m) }

// Type implements pflag.Value; help shows it as the flag's value name.
func (m *resumeMode) Type() string { return "mode" }

// Set implements pflag.Value. "true" and "false" are accepted as they were
// when --resume was a bool flag.
func (m *resumeMode) Set(v string) error {
	switch v {
	case "latest", "true":
		*m = resumeLatest
	case "auto":
		*m = resumeAuto
	case "false":
		*m = ""
	default:
		return fmt.Errorf("%q: want --resume (continue from the latest checkpoint; a damaged one is an error) or --resume auto (continue from the newest checkpoint that verifies)", v)
	}
	return nil
}

// on reports whether the run resumes.
func (m resumeMode) on() bool { return m != "" }

// addResumeFlag adds --resume [auto] to cmd: bare, it sets resumeLatest.
func addResumeFlag(cmd *cobra.Command, m *resumeMode, usage string) {
	f := cmd.Flags().VarPF(m, "resume", "", usage+`; "--resume auto" continues from the newest checkpoint that verifies instead, listing the damaged ones it skips`)
	f.NoOptDefVal = string(resumeLatest)
}

// resumeSource returns the step directory a run in out resumes from under
// mode: "" for resumeLatest (the trainer resolves latest, strictly) and for
// a fresh run; for resumeAuto, the newest step directory that verifies,
// after printing to stderr every checkpoint it rejected (which file, what is
// wrong) and the one it chose. Nothing is deleted.
func resumeSource(command, out string, mode resumeMode, stderr io.Writer) (string, error) {
	if mode != resumeAuto {
		return "", nil
	}
	dir, rejected, err := checkpoint.NewestVerified(out)
	for _, r := range rejected {
		fmt.Fprintf(stderr, "moetrain: WARNING: %s --resume auto: SKIPPING A DAMAGED CHECKPOINT: %v (left on disk)\n", command, r)
	}
	if err != nil {
		return "", fmt.Errorf("%s --resume auto: %w", command, err)
	}
	step := "?"
	if m, err := checkpoint.ReadManifest(dir); err == nil {
		step = fmt.Sprint(m.Step)
	}
	if len(rejected) > 0 {
		fmt.Fprintf(stderr, "moetrain: WARNING: %s --resume auto: RESUMING FROM AN OLDER CHECKPOINT, %s (step %s); the steps after it are trained again\n",
			command, dir, step)
	} else {
		fmt.Fprintf(stderr, "moetrain: %s --resume auto: resuming from %s (step %s), the newest checkpoint, which verifies\n",
			command, dir, step)
	}
	return dir, nil
}
