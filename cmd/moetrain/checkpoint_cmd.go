package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newCheckpointCommand) }

// newCheckpointCommand is "moetrain checkpoint": verify, info and reshard.
func newCheckpointCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Verify, describe and reshard checkpoints",
		Long: `Work on checkpoints without training: verify checks every file against its manifest, info
describes one, reshard rewrites one as the per-rank files a given parallel layout writes.

DIR is a run directory (its latest checkpoint), its checkpoints directory, or a step directory.`,
	}
	cmd.AddCommand(newCheckpointVerifyCommand(), newCheckpointInfoCommand(), newCheckpointReshardCommand())
	return cmd
}

func newCheckpointVerifyCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Check every file of a checkpoint against its manifest (size, SHA-256, tensor shapes)",
		Long: `Check every file a checkpoint's manifest lists: its size and SHA-256, and, in a sharded
checkpoint, every piece's name, dtype and length; the model's tensor shapes are checked against the
configuration the manifest holds. Prints "ok: STEP DIR (N files, X MB)" for a checkpoint that passes;
a damaged one is named with the file and the problem, and the command exits 1. With --all, every
step directory of the run (or checkpoints) directory DIR is checked, and all are reported.`,
		Example: `  moetrain checkpoint verify runs/tiny
  moetrain checkpoint verify runs/tiny/checkpoints/step-00000400
  moetrain checkpoint verify --all runs/tiny`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dirs := []string{}
			if all {
				var err error
				if dirs, err = allStepDirs(args[0]); err != nil {
					return fmt.Errorf("checkpoint verify --all: %w", err)
				}
			} else {
				dir, err := checkpoint.Resolve(args[0])
				if err != nil {
					return fmt.Errorf("checkpoint verify: %w", err)
				}
				dirs = append(dirs, dir)
			}
			var failed []string
			for _, dir := range dirs {
				line, err := verifyStep(dir)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "FAILED: %s: %v\n", dir, err)
					failed = append(failed, filepath.Base(dir))
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
			switch {
			case len(failed) == 0:
				return nil
			case len(dirs) == 1:
				return fmt.Errorf("checkpoint verify: %s is damaged (the problem is above); resume from another checkpoint (--resume auto picks the newest that verifies)", dirs[0])
			}
			return fmt.Errorf("checkpoint verify: %d of %d checkpoints are damaged: %s (each problem is above); --resume auto picks the newest that verifies",
				len(failed), len(dirs), strings.Join(failed, ", "))
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "verify every step directory of the run (or checkpoints) directory DIR")
	return cmd
}

// verifyStep verifies the checkpoint in stepDir and returns its ok line.
func verifyStep(stepDir string) (string, error) {
	if err := checkpoint.Verify(stepDir); err != nil {
		return "", err
	}
	m, err := checkpoint.ReadManifest(stepDir)
	if err != nil {
		return "", err
	}
	if err := checkManifestShapes(stepDir, m); err != nil {
		return "", err
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Size
	}
	return fmt.Sprintf("ok: %d %s (%d files, %.1f MB)", m.Step, stepDir, len(m.Files), float64(bytes)/1e6), nil
}

// checkManifestShapes checks a sharded manifest's model tensor shapes
// against the model its configuration describes. A version-1 manifest
// records no shapes (Verify checked its files' checksums), and a manifest
// without a configuration has nothing to check against.
func checkManifestShapes(stepDir string, m *checkpoint.Manifest) error {
	if m.Tensors == nil || strings.TrimSpace(m.Config) == "" {
		return nil
	}
	path := filepath.Join(stepDir, checkpoint.ManifestFile)
	cfg, err := configs.FromYAML([]byte(m.Config))
	if err != nil {
		return fmt.Errorf("%s: its configuration does not load: %w", path, err)
	}
	have := map[string][]int{}
	for name, tl := range m.Tensors {
		if tl.Group == checkpoint.GroupModel {
			have[name] = tl.Shape
		}
	}
	return checkpoint.CheckModelShapes(cfg, have, path)
}

// allStepDirs returns the step directories (complete or not) of a run
// directory or checkpoints directory, in step order.
func allStepDirs(arg string) ([]string, error) {
	ckDir := arg
	if st, err := os.Stat(filepath.Join(arg, checkpoint.CheckpointsDir)); err == nil && st.IsDir() {
		ckDir = filepath.Join(arg, checkpoint.CheckpointsDir)
	}
	des, err := os.ReadDir(ckDir)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, de := range des { // ReadDir sorts by name: zero-padded steps sort in step order
		if _, ok := checkpoint.ParseStepDirName(de.Name()); ok && de.IsDir() {
			dirs = append(dirs, filepath.Join(ckDir, de.Name()))
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New(ckDir + ": no step-NNNNNNNN directories; want a run directory or its checkpoints directory")
	}
	return dirs, nil
}
