package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// A sharded save, at any number of ranks (one included):
//
//  1. rank 0 calls BeginSharded: stale temporaries go and the step's pending
//     directory, checkpoints/.tmp-step-XXXXXXXX-shards, is made;
//  2. after the ranks have synchronised (so that every rank sees it), each
//     rank calls WriteShard with the pieces it owns: its model and optimizer
//     files, fsynced, then its shard record shard-RRRRR.json, last;
//  3. rank 0 calls CommitSharded, which waits for every rank's record,
//     checks that the pieces tile every tensor, writes the blobs, the extra
//     files and the manifest (last), renames the directory into place and
//     moves latest.
//
// A crash at any point leaves latest on the previous complete checkpoint;
// the pending directory is debris the next save (or Resolve's caller, via
// BeginSharded) removes.

// OwnedPiece is a contiguous range of one tensor's elements that a rank
// writes: elements [Offset, Offset+Data.Len()) of the tensor of global shape
// Shape, flattened in row-major order.
type OwnedPiece struct {
	Shape  []int
	Offset int
	Data   *autograd.Tensor // the elements, any shape (stored 1-D)
}

// Shard is what one rank writes of a sharded checkpoint.
type Shard struct {
	Model, Optimizer map[string]OwnedPiece
}

// shardRecord is a rank's shard-RRRRR.json: its files and pieces.
type shardRecord struct {
	Rank    int                     `json:"rank"`
	Files   map[string]FileSum      `json:"files"`
	Tensors map[string]TensorLayout `json:"tensors"` // one piece each
}

// ShardFile names rank's file of group (GroupModel or GroupOptimizer).
func ShardFile(group string, rank int) string {
	return fmt.Sprintf("%s-rank-%05d.safetensors", group, rank)
}

// ShardFileOf reports whether name is a shard file of group.
func ShardFileOf(name, group string) bool {
	digits, ok := strings.CutPrefix(name, group+"-rank-")
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, ".safetensors")
	r, err := strconv.Atoi(digits)
	return ok && err == nil && r >= 0 && ShardFile(group, r) == name
}

func shardRecordName(rank int) string { return fmt.Sprintf("shard-%05d.json", rank) }

// PendingDir returns the directory a sharded save of step fills.
func PendingDir(runDir string, step int) string {
	return filepath.Join(runDir, CheckpointsDir, tempPrefix+StepDirName(step)+"-shards")
}

// BeginSharded prepares a sharded save of step under runDir (rank 0 only,
// before any rank writes): it removes debris of interrupted saves and makes
// the pending directory.
func BeginSharded(runDir string, step int) error {
	if step < 0 {
		return fmt.Errorf("checkpoint save in %s: negative step %d", runDir, step)
	}
	ckDir := filepath.Join(runDir, CheckpointsDir)
	if err := os.MkdirAll(ckDir, 0o755); err != nil {
		return fmt.Errorf("checkpoint save in %s: %w", ckDir, err)
	}
	if err := removeStale(ckDir); err != nil {
		return fmt.Errorf("checkpoint save in %s: %w", ckDir, err)
	}
	if err := os.Mkdir(PendingDir(runDir, step), 0o755); err != nil {
		return fmt.Errorf("checkpoint save in %s: %w", ckDir, err)
	}
	return nil
}

// WriteShard writes rank's pieces of step into the pending directory that
// BeginSharded made: its model and optimizer files, then its shard record.
func WriteShard(runDir string, step, rank int, sh *Shard) error {
	dir := PendingDir(runDir, step)
	fail := func(err error) error { return fmt.Errorf("checkpoint save %s, rank %d: %w", dir, rank, err) }
	rec := shardRecord{Rank: rank, Files: map[string]FileSum{}, Tensors: map[string]TensorLayout{}}
	meta := map[string]string{"step": strconv.Itoa(step), "rank": strconv.Itoa(rank)}
	for _, g := range []struct {
		group  string
		pieces map[string]OwnedPiece
	}{{GroupModel, sh.Model}, {GroupOptimizer, sh.Optimizer}} {
		file := ShardFile(g.group, rank)
		flat := make(map[string]*autograd.Tensor, len(g.pieces))
		for name, p := range g.pieces {
			if p.Data == nil || p.Data.Len() == 0 {
				continue
			}
			n, ok := numel(p.Shape, 8)
			if !ok || p.Offset < 0 || p.Offset+p.Data.Len() > n {
				return fail(fmt.Errorf("tensor %q: elements %d to %d are not inside shape %v", name, p.Offset, p.Offset+p.Data.Len(), p.Shape))
			}
			dt := DTypeF32
			if p.Data.DType() == autograd.Float64 {
				dt = DTypeF64
			}
			flat[name] = flatView(p.Data)
			rec.Tensors[name] = TensorLayout{Group: g.group, DType: dt, Shape: append([]int(nil), p.Shape...),
				Pieces: []Piece{{File: file, Offset: int64(p.Offset), Length: int64(p.Data.Len())}}}
		}
		es, err := tensorEntries(flat)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", file, err))
		}
		sum, err := writeSynced(filepath.Join(dir, file), func(w io.Writer) error { return encode(w, es, meta) })
		if err != nil {
			return fail(err)
		}
		rec.Files[file] = sum
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		return fail(err)
	}
	// The record appears whole or not at all (rank 0 polls for it): written
	// under a temporary name, synced, then renamed; after that the pending
	// directory is rank 0's (it syncs it and renames it into place), so
	// this rank does not open it again.
	if _, err := publishFile(filepath.Join(dir, shardRecordName(rank)), tempPrefix+shardRecordName(rank)+"-*", func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return fail(err)
	}
	return nil
}

// flatView returns t's values as a 1-D tensor sharing them.
func flatView(t *autograd.Tensor) *autograd.Tensor {
	if t.DType() == autograd.Float64 {
		return autograd.FromSlice(t.F64(), t.Len())
	}
	return autograd.FromSlice(t.F32(), t.Len())
}

// maxShardRecordBytes bounds a shard record: it lists one piece per tensor.
const maxShardRecordBytes = 64 << 20

// CommitSharded completes the sharded save of step (rank 0 only): it waits
// up to wait for the shard records of ranks 0..layout.WorldSize-1, checks
// that their pieces tile every tensor, writes ck's blobs and extra files and
// the manifest (ck's Config, Sampler, RNG, Metrics and Created; its Model and
// Optimizer are not read), renames the pending directory to the step
// directory and moves latest; a step directory already there (a checkpoint
// of this step from before a resume, perhaps a damaged one) is renamed to
// superseded-step-XXXXXXXX-TIME beside it, never deleted. It returns the step
// directory.
func CommitSharded(runDir string, step int, ck *Checkpoint, layout Layout, wait time.Duration) (string, error) {
	dir := PendingDir(runDir, step)
	ckDir := filepath.Join(runDir, CheckpointsDir)
	final := filepath.Join(ckDir, StepDirName(step))
	fail := func(err error) (string, error) { return "", fmt.Errorf("checkpoint save %s: %w", final, err) }
	if layout.WorldSize < 1 || layout.ExpertParallel < 1 {
		return fail(fmt.Errorf("layout %+v has no ranks", layout))
	}
	m := Manifest{FormatVersion: ShardedVersion, Step: step, Created: ck.Created, Config: ck.Config, Sampler: ck.Sampler,
		RNG: ck.RNG, Metrics: ck.Metrics, Files: map[string]FileSum{}, Layout: &layout, Tensors: map[string]TensorLayout{}}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	m.Created = m.Created.UTC()
	deadline := time.Now().Add(wait)
	for r := range layout.WorldSize {
		rec, err := awaitShardRecord(filepath.Join(dir, shardRecordName(r)), deadline)
		if err != nil {
			return fail(fmt.Errorf("rank %d: %w", r, err))
		}
		if rec.Rank != r {
			return fail(fmt.Errorf("%s says it is rank %d's", shardRecordName(r), rec.Rank))
		}
		for name, fs := range rec.Files {
			m.Files[name] = fs
		}
		for name, tl := range rec.Tensors {
			have, ok := m.Tensors[name]
			if ok && (have.Group != tl.Group || have.DType != tl.DType || !slices.Equal(have.Shape, tl.Shape)) {
				return fail(fmt.Errorf("rank %d writes tensor %q as %s %s %v, another rank as %s %s %v", r, name, tl.Group, tl.DType, tl.Shape, have.Group, have.DType, have.Shape))
			}
			if !ok {
				have = TensorLayout{Group: tl.Group, DType: tl.DType, Shape: tl.Shape}
			}
			have.Pieces = append(have.Pieces, tl.Pieces...)
			m.Tensors[name] = have
		}
	}
	if err := checkTensors(filepath.Join(final, ManifestFile), m.Tensors, m.Files); err != nil {
		return fail(err)
	}
	for r := range layout.WorldSize {
		if err := os.Remove(filepath.Join(dir, shardRecordName(r))); err != nil {
			return fail(err)
		}
	}
	if err := fillExtras(dir, &m, ck); err != nil {
		return fail(err)
	}
	if err := writeManifest(dir, &m); err != nil {
		return fail(err)
	}
	if isDir(final) { // a checkpoint of this step from before a resume (perhaps the damaged one --resume auto passed over): kept, aside
		aside := filepath.Join(ckDir, fmt.Sprintf("superseded-%s-%d", StepDirName(step), time.Now().UnixNano()))
		if err := os.Rename(final, aside); err != nil {
			return fail(err)
		}
	}
	if err := replaceDir(dir, final); err != nil {
		return fail(err)
	}
	if err := syncDir(ckDir); err != nil {
		return fail(err)
	}
	if err := writeLatest(ckDir, StepDirName(step)); err != nil {
		return fail(err)
	}
	return final, nil
}

// awaitShardRecord reads a rank's shard record, waiting until deadline for
// it to appear (a rank writes it last, after its files are synced).
func awaitShardRecord(path string, deadline time.Time) (*shardRecord, error) {
	for {
		b, err := readBounded(path, maxShardRecordBytes)
		if err == nil {
			var rec shardRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			return &rec, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not appear in time: the rank did not finish writing its part of the checkpoint (lost, or its disk is slow or full)", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > limit {
		return nil, fmt.Errorf("%s is not a regular file of at most %d bytes (a device, a pipe or an oversized file): use another checkpoint", path, limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
