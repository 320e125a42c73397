package main

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/spf13/cobra"
)

func newCheckpointReshardCommand() *cobra.Command {
	var in, out string
	var sets []string
	cmd := &cobra.Command{
		Use:   "reshard --in DIR --out DIR --set parallel.world_size=N [--set parallel.expert_parallel=M]",
		Short: "Rewrite a checkpoint as the per-rank files N ranks (M-way expert parallel) write",
		Long: `Read the checkpoint --in resolves to (any format) and write it under the new run directory --out
as a sharded checkpoint of parallel.world_size = N ranks in expert-parallel groups of
parallel.expert_parallel = M (default 1): each rank's files hold its share of every tensor, the
share that rank writes in training. Any layout can load any checkpoint, so this is for keeping
files per rank, not for resuming at another layout. The step, configuration, data position, random
state, metrics and every other file of the step directory are kept as they are. --out must not
exist; M must divide N and every layer's number of experts.`,
		Example: `  moetrain checkpoint reshard --in runs/tiny --out runs/tiny-4ranks --set parallel.world_size=4 --set parallel.expert_parallel=2`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			world, ep, err := parseReshardSets(sets)
			if err != nil {
				return fmt.Errorf("checkpoint reshard: %w", err)
			}
			dir, err := reshardCheckpoint(in, out, world, ep)
			if err != nil {
				return fmt.Errorf("checkpoint reshard: %w", err)
			}
			line, err := verifyStep(dir)
			if err != nil {
				return fmt.Errorf("checkpoint reshard: the written checkpoint does not verify: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "resharded to %d ranks (data parallel %d x expert parallel %d)\n%s\n", world, world/ep, ep, line)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "checkpoint to read: a run, checkpoints or step directory")
	cmd.Flags().StringVar(&out, "out", "", "new run directory to write the sharded checkpoint into (must not exist)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "parallel.world_size=N or parallel.expert_parallel=M")
	cmd.MarkFlagRequired("in")
	cmd.MarkFlagRequired("out")
	return cmd
}

// parseReshardSets reads the --set values of reshard: parallel.world_size
// (required) and parallel.expert_parallel (default 1).
func parseReshardSets(sets []string) (world, ep int, err error) {
	ep = 1
	for _, s := range sets {
		key, val, ok := strings.Cut(s, "=")
		n, perr := strconv.Atoi(strings.TrimSpace(val))
		switch {
		case !ok:
			return 0, 0, fmt.Errorf("--set %q: want KEY=VALUE", s)
		case key != "parallel.world_size" && key != "parallel.expert_parallel":
			return 0, 0, fmt.Errorf("--set %q: reshard takes parallel.world_size and parallel.expert_parallel only", s)
		case perr != nil || n < 1:
			return 0, 0, fmt.Errorf("--set %q: want a whole number of at least 1", s)
		case key == "parallel.world_size":
			world = n
		default:
			ep = n
		}
	}
	if world == 0 {
		return 0, 0, errors.New("want --set parallel.world_size=N, the number of ranks to write the checkpoint as")
	}
	if world%ep != 0 {
		return 0, 0, fmt.Errorf("parallel.expert_parallel = %d does not divide parallel.world_size = %d; use one of %s", ep, world, joinInts(divisors(world)))
	}
	return world, ep, nil
}

// reshardCheckpoint writes the checkpoint in resolves to as a sharded one
// of world ranks in expert-parallel groups of ep, under the new run
// directory out, and returns its step directory. out is removed again on
// failure.
func reshardCheckpoint(in, out string, world, ep int) (dir string, err error) {
	if _, err := os.Lstat(out); err == nil {
		return "", fmt.Errorf("--out %s exists; pass a new directory (reshard never writes into an existing one)", out)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("--out: %w", err)
	}
	src, err := checkpoint.Resolve(in)
	if err != nil {
		return "", fmt.Errorf("--in: %w", err)
	}
	ck, err := checkpoint.Load(src)
	if err != nil {
		return "", fmt.Errorf("--in: %w", err)
	}
	if err := checkExpertSplit(ck, ep); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	if ck.Blobs, err = readBlobs(src); err != nil {
		return "", err
	}
	extras, err := checkpoint.UnlistedEntries(src)
	if err != nil {
		return "", err
	}
	ck.Extras = func(dir string) error { return checkpoint.CopyEntries(src, dir, extras) }
	defer func() {
		if err != nil {
			os.RemoveAll(out)
		}
	}()
	if err := checkpoint.BeginSharded(out, ck.Step); err != nil {
		return "", err
	}
	for r := range world {
		sh := &checkpoint.Shard{Model: rankPieces(ck.Model, r, world, ep), Optimizer: rankPieces(ck.Optimizer, r, world, ep)}
		if err := checkpoint.WriteShard(out, ck.Step, r, sh); err != nil {
			return "", err
		}
	}
	return checkpoint.CommitSharded(out, ck.Step, ck, checkpoint.Layout{WorldSize: world, ExpertParallel: ep}, time.Second)
}

// isExpertTensor reports whether name is a routed expert weight [E, ...]
// or its AdamW moment, the tensors split over the expert-parallel group.
func isExpertTensor(name string) bool { return strings.Contains(name, ".experts.w") }

// checkExpertSplit checks that ep divides every expert tensor's E, and
// that no tensor is empty (a sharded checkpoint lists a tensor by its
// pieces, so an empty one would be lost).
func checkExpertSplit(ck *checkpoint.Checkpoint, ep int) error {
	for _, ts := range []map[string]*autograd.Tensor{ck.Model, ck.Optimizer} {
		for _, name := range sortedNames(ts) {
			t := ts[name]
			if t.Len() == 0 {
				return fmt.Errorf("tensor %q %v has no elements, which a sharded checkpoint cannot hold; this checkpoint stays in its own format", name, t.Shape())
			}
			if !isExpertTensor(name) || len(t.Shape()) == 0 {
				continue
			}
			if e := t.Dim(0); e%ep != 0 {
				return fmt.Errorf("tensor %q holds E = %d experts, which parallel.expert_parallel = %d does not divide; use one of %s",
					name, e, ep, joinInts(divisors(e)))
			}
		}
	}
	return nil
}

// rankPieces returns the pieces of ts that rank r of world ranks in
// expert-parallel groups of ep writes, as training does: rank r is data-
// parallel index r/ep and expert-parallel index r%ep; a tensor every rank
// holds is split into world contiguous ranges, the r-th rank's; an expert
// tensor is first split into ep ranges of whole experts, range r%ep then
// into world/ep parts, part r/ep being the rank's.
func rankPieces(ts map[string]*autograd.Tensor, r, world, ep int) map[string]checkpoint.OwnedPiece {
	out := map[string]checkpoint.OwnedPiece{}
	for name, t := range ts {
		n, base, holders, idx := t.Len(), 0, world, r
		if isExpertTensor(name) {
			n /= ep
			base, holders, idx = (r%ep)*n, world/ep, r/ep
		}
		lo, hi := idx*n/holders, (idx+1)*n/holders
		if lo == hi {
			continue
		}
		var data *autograd.Tensor
		if t.DType() == autograd.Float64 {
			data = autograd.FromSlice(t.F64()[base+lo:base+hi], hi-lo)
		} else {
			data = autograd.FromSlice(t.F32()[base+lo:base+hi], hi-lo)
		}
		out[name] = checkpoint.OwnedPiece{Shape: t.Shape(), Offset: base + lo, Data: data}
	}
	return out
}

// readBlobs returns every file the manifest of stepDir lists besides the
// tensor files, verified.
func readBlobs(stepDir string) (map[string][]byte, error) {
	m, err := checkpoint.ReadManifest(stepDir)
	if err != nil {
		return nil, err
	}
	blobs := map[string][]byte{}
	for name := range m.Files {
		if isTensorFile(name) {
			continue
		}
		b, _, err := checkpoint.ReadBlob(stepDir, name)
		if err != nil {
			return nil, err
		}
		blobs[name] = b
	}
	return blobs, nil
}

// isTensorFile reports whether name is a model or optimizer file of either
// checkpoint format.
func isTensorFile(name string) bool {
	return name == checkpoint.ModelFile || name == checkpoint.OptimizerFile ||
		checkpoint.ShardFileOf(name, checkpoint.GroupModel) || checkpoint.ShardFileOf(name, checkpoint.GroupOptimizer)
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// divisors returns n's divisors in ascending order.
func divisors(n int) []int {
	var out []int
	for d := 1; d <= n; d++ {
		if n%d == 0 {
			out = append(out, d)
		}
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
