package checkpoint

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/moetrain/moetrain/autograd"
)

// pieceRef is where a piece of a shard file goes: its tensor and range.
type pieceRef struct {
	tensor string
	tl     *TensorLayout
	p      Piece
}

// loadSharded reads a sharded checkpoint whole (every tensor assembled from
// its pieces), with the optimizer state when withOptimizer is set.
func loadSharded(stepDir string, m *Manifest, withOptimizer bool) (*Checkpoint, error) {
	return readSharded(stepDir, m, withOptimizer, true)
}

// readSharded verifies a sharded checkpoint's files (size, SHA-256, and
// each piece's name, dtype and length against the manifest) and, when keep
// is set, assembles its tensors. withOptimizer adds the optimizer files and
// every other listed file (blobs) to what is verified and read; without it
// only the model files are.
func readSharded(stepDir string, m *Manifest, withOptimizer, keep bool) (*Checkpoint, error) {
	ck := fromManifest(m)
	if withOptimizer {
		ck.Optimizer = map[string]*autograd.Tensor{}
	}
	byFile := map[string]map[string]pieceRef{}
	for _, name := range sortedKeys(m.Tensors) {
		tl := m.Tensors[name]
		if tl.Group == GroupOptimizer && !withOptimizer {
			continue
		}
		if keep {
			dt := autograd.Float32
			if tl.DType == DTypeF64 {
				dt = autograd.Float64
			}
			t := autograd.New(dt, tl.Shape...) // bounded: checkTensors held every shape to the files' bytes
			t.Name = name
			if tl.Group == GroupModel {
				ck.Model[name] = t
			} else {
				ck.Optimizer[name] = t
			}
		}
		for _, p := range tl.Pieces {
			if byFile[p.File] == nil {
				byFile[p.File] = map[string]pieceRef{}
			}
			byFile[p.File][name] = pieceRef{tensor: name, tl: &tl, p: p}
		}
	}
	for _, file := range sortedKeys(m.Files) {
		isModel, isOpt := ShardFileOf(file, GroupModel), ShardFileOf(file, GroupOptimizer)
		if !withOptimizer && !isModel {
			continue
		}
		var consume sink
		if isModel || isOpt {
			want := byFile[file]
			seen := map[string]bool{}
			consume = func(t tensorInfo, r io.Reader) error {
				ref, ok := want[t.name]
				switch {
				case !ok:
					return fmt.Errorf("tensor %q is not listed for this file in the manifest", t.name)
				case seen[t.name]:
					return fmt.Errorf("tensor %q appears twice", t.name)
				case t.dtype != ref.tl.DType || len(t.shape) != 1 || int64(t.shape[0]) != ref.p.Length:
					return fmt.Errorf("tensor %q is %s %v, the manifest says %s [%d]", t.name, t.dtype, t.shape, ref.tl.DType, ref.p.Length)
				}
				seen[t.name] = true
				lo, hi := ref.p.Offset, ref.p.Offset+ref.p.Length
				dst := ck.Model[ref.tensor]
				if ref.tl.Group == GroupOptimizer {
					dst = ck.Optimizer[ref.tensor]
				}
				switch {
				case keep && t.dtype == DTypeF64:
					return readF64(r, dst.F64()[lo:hi])
				case keep:
					return readF32(r, dst.F32()[lo:hi])
				}
				_, err := io.CopyN(io.Discard, r, int64(dtypeSize[t.dtype])*(hi-lo))
				return err
			}
			if err := verifyFile(filepath.Join(stepDir, file), m.Files[file], consume); err != nil {
				return nil, fmt.Errorf("checkpoint %s: %w", stepDir, err)
			}
			if len(seen) != len(want) {
				for name := range want {
					if !seen[name] {
						return nil, fmt.Errorf("checkpoint %s: %s lacks its piece of tensor %q that the manifest lists", stepDir, filepath.Join(stepDir, file), name)
					}
				}
			}
			continue
		}
		if err := verifyFile(filepath.Join(stepDir, file), m.Files[file], consume); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", stepDir, err)
		}
	}
	return ck, nil
}
