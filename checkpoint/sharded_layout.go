package checkpoint

import (
	"fmt"
	"sort"
)

// ShardedVersion is the manifest format of sharded checkpoints: every rank
// of a run writes the pieces it owns into files of its own, and the
// manifest maps each tensor's global shape to the pieces that tile it.
const ShardedVersion = 2

// Tensor groups of a sharded checkpoint.
const (
	GroupModel     = "model"
	GroupOptimizer = "optimizer"
)

// Layout is the parallel layout a sharded checkpoint was written at: it
// says who wrote which piece, and nothing of how it may be loaded (any
// layout can read any checkpoint).
type Layout struct {
	WorldSize      int `json:"world_size"`
	ExpertParallel int `json:"expert_parallel"`
}

// TensorLayout is one tensor of a sharded checkpoint: its global shape and
// the pieces that hold it. Piece i holds elements [Offset, Offset+Length) of
// the tensor flattened in row-major order, stored in File as a 1-D tensor
// [Length] under the tensor's name.
type TensorLayout struct {
	Group  string  `json:"group"` // GroupModel or GroupOptimizer
	DType  string  `json:"dtype"` // DTypeF32 or DTypeF64
	Shape  []int   `json:"shape"`
	Pieces []Piece `json:"pieces"`
}

// Piece is a contiguous range of a tensor's elements in one file.
type Piece struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// checkTensors validates the tensors of a sharded manifest against its
// files: every piece is in a listed file of the right group, positive and
// inside its tensor; the pieces of a tensor tile it exactly (no overlap, no
// gap, none past its end; a file at most once); and the tensors' total
// bytes fit the listed file sizes, so no claim can size an allocation
// beyond the bytes that back it. path names the manifest in errors.
func checkTensors(path string, tensors map[string]TensorLayout, files map[string]FileSum) error {
	if len(tensors) == 0 {
		return fmt.Errorf("checkpoint manifest %s: a sharded checkpoint lists no tensors; the manifest is damaged: use another checkpoint", path)
	}
	var claimed, backed int64
	for _, fs := range files {
		backed += fs.Size
	}
	for _, name := range sortedKeys(tensors) {
		tl := tensors[name]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("checkpoint manifest %s: tensor %q: %s; the manifest is damaged or was not written for these files: use another checkpoint",
				path, name, fmt.Sprintf(format, args...))
		}
		if err := checkName(name); err != nil {
			return bad("%v", err)
		}
		if tl.Group != GroupModel && tl.Group != GroupOptimizer {
			return bad("group %q is neither %q nor %q", tl.Group, GroupModel, GroupOptimizer)
		}
		size := dtypeSize[tl.DType]
		if tl.DType != DTypeF32 && tl.DType != DTypeF64 {
			return bad("dtype %q; sharded checkpoints hold F32 or F64 tensors", tl.DType)
		}
		n, ok := numel(tl.Shape, size)
		if !ok {
			return bad("shape %v is negative or too large", tl.Shape)
		}
		claimed += int64(n) * int64(size)
		if claimed > backed {
			return bad("the tensors claim %d bytes but the listed files hold %d", claimed, backed)
		}
		pieces := append([]Piece(nil), tl.Pieces...)
		sort.Slice(pieces, func(i, j int) bool { return pieces[i].Offset < pieces[j].Offset })
		seen := map[string]bool{}
		var next int64
		for _, p := range pieces {
			fs, listed := files[p.File]
			switch {
			case !listed:
				return bad("a piece is in %q, which the manifest does not list", p.File)
			case !ShardFileOf(p.File, tl.Group):
				return bad("a piece is in %q, which is not a %s shard file", p.File, tl.Group)
			case seen[p.File]:
				return bad("file %s holds two of its pieces", p.File)
			case p.Length <= 0 || p.Offset < 0:
				return bad("the piece in %s has offset %d and length %d", p.File, p.Offset, p.Length)
			case p.Length*int64(size) > fs.Size:
				return bad("the piece in %s claims %d elements, more than the file's %d bytes hold", p.File, p.Length, fs.Size)
			case p.Offset < next:
				return bad("the piece in %s (elements %d to %d) overlaps another", p.File, p.Offset, p.Offset+p.Length)
			case p.Offset > next:
				return bad("elements %d to %d are in no file", next, p.Offset)
			case p.Offset+p.Length > int64(n):
				return bad("the piece in %s runs to element %d, past the tensor's %d", p.File, p.Offset+p.Length, n)
			}
			seen[p.File] = true
			next = p.Offset + p.Length
		}
		if next != int64(n) {
			return bad("elements %d to %d are in no file", next, n)
		}
	}
	return nil
}
