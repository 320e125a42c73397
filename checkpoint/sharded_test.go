package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// Sharded checkpoints: pieces written by several ranks load back whole;
// every way a manifest or a shard file can lie is an error naming the file.
// Mutations caught: checkTensors not sorting pieces (the round trip of
// unordered ranks fails); the overlap, gap or past-the-end case dropped
// (TestShardedManifestLies); readSharded not checking a piece's length
// (TestShardedFileLies, "length"); CommitSharded not waiting for a late
// rank's record (TestShardedCommitWaits).

// shardedFixture writes a 3-rank sharded checkpoint of step 5: tensor "w"
// [4, 3] split 5/4/3 elements over ranks 2, 0, 1 and "b" [2] (float64) held
// by rank 1 alone, plus an optimizer tensor split over ranks 0 and 2.
func shardedFixture(t testing.TB) (runDir string, w, b, m *autograd.Tensor) {
	t.Helper()
	runDir = t.TempDir()
	w = autograd.New(autograd.Float32, 4, 3)
	for i := range w.Len() {
		w.Set(i, float64(i)+0.5)
	}
	b = autograd.FromSlice([]float64{-1.25, 3}, 2)
	m = autograd.FromSlice([]float32{7, 8, 9, 10}, 4)
	piece := func(t *autograd.Tensor, lo, hi int) OwnedPiece {
		return OwnedPiece{Shape: t.Shape(), Offset: lo, Data: autograd.FromSlice(t.F32()[lo:hi], hi-lo)}
	}
	shards := []*Shard{
		{Model: map[string]OwnedPiece{"w": piece(w, 5, 9)}, Optimizer: map[string]OwnedPiece{"exp_avg.w": piece(m, 0, 1)}},
		{Model: map[string]OwnedPiece{"w": piece(w, 9, 12), "b": {Shape: []int{2}, Data: b}}},
		{Model: map[string]OwnedPiece{"w": piece(w, 0, 5)}, Optimizer: map[string]OwnedPiece{"exp_avg.w": piece(m, 1, 4)}},
	}
	if err := BeginSharded(runDir, 5); err != nil {
		t.Fatal(err)
	}
	for r, sh := range shards {
		if err := WriteShard(runDir, 5, r, sh); err != nil {
			t.Fatal(err)
		}
	}
	ck := &Checkpoint{Config: "model: {}\n", Metrics: Metrics{"tokens": 12}, Blobs: map[string][]byte{"tokenizer.json": []byte("{}")}}
	if _, err := CommitSharded(runDir, 5, ck, Layout{WorldSize: 3, ExpertParallel: 1}, time.Second); err != nil {
		t.Fatal(err)
	}
	return runDir, w, b, m
}

func TestShardedRoundTrip(t *testing.T) {
	runDir, w, b, _ := shardedFixture(t)
	dir, err := Resolve(runDir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step != 5 || ck.Layout == nil || ck.Layout.WorldSize != 3 || ck.Metrics["tokens"] != 12 {
		t.Fatalf("step %d, layout %+v, metrics %v", ck.Step, ck.Layout, ck.Metrics)
	}
	for name, want := range map[string]*autograd.Tensor{"w": w, "b": b} {
		got := ck.Model[name]
		if got == nil || !slices.Equal(got.Shape(), want.Shape()) || got.DType() != want.DType() {
			t.Fatalf("%s: got %v", name, got)
		}
		for i := range want.Len() {
			if got.At(i) != want.At(i) {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.At(i), want.At(i))
			}
		}
	}
	if got := ck.Optimizer["exp_avg.w"]; got == nil || got.At(0) != 7 || got.At(3) != 10 {
		t.Errorf("optimizer state %v", got)
	}
	only, err := LoadModelOnly(dir)
	if err != nil || only.Optimizer != nil || only.Model["w"].At(11) != w.At(11) {
		t.Errorf("LoadModelOnly: %v, %v", only, err)
	}
	if err := Verify(dir); err != nil {
		t.Error(err)
	}
	if blob, ok, err := ReadBlob(dir, "tokenizer.json"); err != nil || !ok || string(blob) != "{}" {
		t.Errorf("blob %q %v %v", blob, ok, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(runDir, CheckpointsDir)); len(entries) != 2 { // the step and latest
		t.Errorf("checkpoints dir holds %d entries, want the step directory and latest", len(entries))
	}
}

// rewriteManifest applies edit to the step directory's manifest.
func rewriteManifest(t *testing.T, dir string, edit func(m *Manifest)) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShardedManifestLies(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *Manifest)
		want string
	}{
		{"overlap", func(m *Manifest) {
			for i, p := range m.Tensors["w"].Pieces {
				if p.Offset == 5 {
					m.Tensors["w"].Pieces[i].Offset = 4
				}
			}
		}, "overlaps another"},
		{"gap", func(m *Manifest) { tl := m.Tensors["w"]; tl.Shape = []int{5, 3}; m.Tensors["w"] = tl }, "are in no file"},
		{"past the end", func(m *Manifest) { tl := m.Tensors["w"]; tl.Shape = []int{2, 3}; m.Tensors["w"] = tl }, "past the tensor"},
		{"huge shape", func(m *Manifest) { tl := m.Tensors["w"]; tl.Shape = []int{1 << 40, 1 << 20}; m.Tensors["w"] = tl }, "claim"},
		{"unlisted file", func(m *Manifest) { m.Tensors["w"].Pieces[0].File = "model-rank-00007.safetensors" }, "does not list"},
		{"file twice", func(m *Manifest) {
			tl := m.Tensors["w"]
			tl.Pieces[1].File = tl.Pieces[0].File
			m.Tensors["w"] = tl
		}, "holds two of its pieces"},
		{"wrong group", func(m *Manifest) { tl := m.Tensors["b"]; tl.Group = GroupOptimizer; m.Tensors["b"] = tl }, "not a optimizer shard file"},
		{"no layout", func(m *Manifest) { m.Layout = nil }, "tensor layout"},
		{"bad layout", func(m *Manifest) { m.Layout.ExpertParallel = 2 }, "layout of 3 ranks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir, _, _, _ := shardedFixture(t)
			dir, _ := Resolve(runDir)
			rewriteManifest(t, dir, tc.edit)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ManifestFile) {
				t.Fatalf("got %v, want an error naming the manifest saying %q", err, tc.want)
			}
		})
	}
}

func TestShardedFileLies(t *testing.T) {
	for _, tc := range []struct {
		name string
		harm func(t *testing.T, dir string)
		want string
	}{
		{"flipped byte", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ShardFile(GroupModel, 1))
			b, _ := os.ReadFile(p)
			b[len(b)-3] ^= 0x40
			os.WriteFile(p, b, 0o644)
		}, "model-rank-00001.safetensors is corrupt"},
		{"truncated", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ShardFile(GroupOptimizer, 2))
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-4)
		}, "optimizer-rank-00002.safetensors is corrupt"},
		{"missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ShardFile(GroupModel, 0))) }, "model-rank-00000.safetensors"},
		{"manifest from another run", func(t *testing.T, dir string) {
			other, _, _, _ := shardedFixture(t) // another run's manifest, its model file's checksum not this one's
			od, _ := Resolve(other)
			b, _ := os.ReadFile(filepath.Join(od, ManifestFile))
			var m Manifest
			json.Unmarshal(b, &m)
			m.Created = time.Time{}
			m.Files[ShardFile(GroupModel, 0)] = FileSum{Size: m.Files[ShardFile(GroupModel, 0)].Size, SHA256: strings.Repeat("ab", 32)}
			b, _ = json.Marshal(&m)
			os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
		}, "model-rank-00000.safetensors is corrupt: sha256"},
		{"length", func(t *testing.T, dir string) {
			rewriteManifest(t, dir, func(m *Manifest) {
				tl := m.Tensors["w"]
				for i := range tl.Pieces {
					switch tl.Pieces[i].Offset {
					case 5:
						tl.Pieces[i].Length = 3
					case 8:
					case 9:
						tl.Pieces[i].Offset, tl.Pieces[i].Length = 8, 4
					}
				}
				m.Tensors["w"] = tl
			})
		}, "the manifest says F32 [3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir, _, _, _ := shardedFixture(t)
			dir, _ := Resolve(runDir)
			tc.harm(t, dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: got %v, want %q", err, tc.want)
			}
			if err := Verify(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify: got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestShardedCommitWaits: the commit waits for a rank that writes late, and
// one that never writes is an error naming it once the wait is over, with
// latest left where it was.
func TestShardedCommitWaits(t *testing.T) {
	runDir := t.TempDir()
	x := autograd.FromSlice([]float32{1, 2}, 2)
	if err := BeginSharded(runDir, 1); err != nil {
		t.Fatal(err)
	}
	if err := WriteShard(runDir, 1, 0, &Shard{Model: map[string]OwnedPiece{"x": {Shape: []int{2}, Data: autograd.FromSlice(x.F32()[:1], 1)}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = WriteShard(runDir, 1, 1, &Shard{Model: map[string]OwnedPiece{"x": {Shape: []int{2}, Offset: 1, Data: autograd.FromSlice(x.F32()[1:], 1)}}})
	}()
	if _, err := CommitSharded(runDir, 1, &Checkpoint{}, Layout{WorldSize: 2, ExpertParallel: 1}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := BeginSharded(runDir, 2); err != nil {
		t.Fatal(err)
	}
	_, err := CommitSharded(runDir, 2, &Checkpoint{}, Layout{WorldSize: 1, ExpertParallel: 1}, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "rank 0") || !strings.Contains(err.Error(), "did not appear in time") {
		t.Fatalf("got %v, want rank 0's record missing", err)
	}
	if dir, err := Resolve(runDir); err != nil || filepath.Base(dir) != StepDirName(1) {
		t.Errorf("latest is %s (%v), want step 1", dir, err)
	}
}

// TestShardedCommitKeepsSuperseded: committing a step that already has a
// directory (say a damaged one a resume passed over) moves the old one aside
// instead of deleting it.
func TestShardedCommitKeepsSuperseded(t *testing.T) {
	runDir, _, _, _ := shardedFixture(t)
	old, _ := Resolve(runDir)
	marker := filepath.Join(old, "marker")
	if err := os.WriteFile(marker, []byte("the old one"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := autograd.FromSlice([]float32{1}, 1)
	if err := BeginSharded(runDir, 5); err != nil {
		t.Fatal(err)
	}
	if err := WriteShard(runDir, 5, 0, &Shard{Model: map[string]OwnedPiece{"x": {Shape: []int{1}, Data: x}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := CommitSharded(runDir, 5, &Checkpoint{}, Layout{WorldSize: 1, ExpertParallel: 1}, time.Second); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(filepath.Join(runDir, CheckpointsDir, "superseded-step-00000005-*", "marker"))
	if len(kept) != 1 {
		t.Fatalf("the superseded step directory is gone (found %v)", kept)
	}
	if steps, err := Steps(runDir); err != nil || len(steps) != 1 || steps[0] != 5 {
		t.Errorf("steps %v (%v), want [5]: the kept directory must not count as a step", steps, err)
	}
}

// TestManifestSizeBounded: a manifest.json past MaxManifestBytes (here a
// sparse file) is refused before it is read, naming the file.
func TestManifestSizeBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), StepDirName(1))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ManifestFile)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxManifestBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("got %v, want a refusal naming %s", err, path)
	}
}
