package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzShardedManifest feeds arbitrary manifests to a sharded step directory
// whose shard files are real: reading and loading must end in a value or an
// error naming the manifest or a file, never a panic or an allocation that
// the files' bytes do not back. Mutations caught: checkTensors' byte budget
// removed (the "huge shape" seed allocates past the limit and the process
// dies); the past-the-end check removed (the "past the end" seed panics
// indexing a tensor).
func FuzzShardedManifest(f *testing.F) {
	runDir, _, _, _ := shardedFixture(f)
	src, err := Resolve(runDir)
	if err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(src, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	var m Manifest
	if err := json.Unmarshal(good, &m); err != nil {
		f.Fatal(err)
	}
	for _, edit := range []func(m *Manifest){
		func(m *Manifest) { tl := m.Tensors["w"]; tl.Shape = []int{1 << 30, 1 << 30}; m.Tensors["w"] = tl },      // huge shape
		func(m *Manifest) { tl := m.Tensors["w"]; tl.Shape = []int{2}; m.Tensors["w"] = tl },                     // past the end
		func(m *Manifest) { m.Tensors["w"].Pieces[0].Length = 1 << 40 },                                          // huge piece
		func(m *Manifest) { m.Tensors["w"].Pieces[0].Offset = -3 },                                               // negative offset
		func(m *Manifest) { tl := m.Tensors["b"]; tl.DType = "I64"; m.Tensors["b"] = tl },                        // not a float
		func(m *Manifest) { tl := m.Tensors["b"]; tl.Pieces = nil; m.Tensors["b"] = tl },                         // no pieces
		func(m *Manifest) { m.Tensors["x"] = TensorLayout{Group: GroupModel, DType: DTypeF32, Shape: []int{0}} }, // empty tensor
	} {
		var c Manifest
		if err := json.Unmarshal(good, &c); err != nil {
			f.Fatal(err)
		}
		edit(&c)
		b, err := json.Marshal(&c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.Name() != ManifestFile {
			if files[e.Name()], err = os.ReadFile(filepath.Join(src, e.Name())); err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), StepDirName(5))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ck, err := Load(dir)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not name the step directory's files", err)
			}
			return
		}
		var budget int64
		for _, b := range files {
			budget += int64(len(b))
		}
		var got int64
		for _, x := range ck.Model {
			got += int64(x.Len()) * 4
		}
		for _, x := range ck.Optimizer {
			got += int64(x.Len()) * 4
		}
		if got > 2*budget {
			t.Fatalf("loaded %d bytes of tensors from %d bytes of files", got, budget)
		}
	})
}
