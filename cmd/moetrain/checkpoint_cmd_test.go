package main

// Mutations caught: verify ignoring Verify's error (printing ok) makes
// TestCheckpointVerify fail; dropping the configuration shape check makes
// TestCheckpointVerify fail (the edited manifest passes); verify --all
// stopping at the first damaged step makes TestCheckpointVerify fail (step 4
// is not reported ok); info counting every tensor as a model tensor makes
// TestCheckpointInfo fail; rankPieces splitting expert tensors like the
// others (ignoring expert_parallel) makes TestCheckpointReshard fail (the
// rank files differ from the expert ranges); an off-by-one in the piece
// ranges makes TestCheckpointReshard fail; not carrying the blobs over makes
// TestCheckpointReshard fail.

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
)

// trainedRun trains a small run (checkpoints at steps 4 and 8) in a fresh
// temporary directory and returns its run directory.
func trainedRun(t *testing.T) string {
	t.Helper()
	runDir := filepath.Join(t.TempDir(), "run")
	if _, errs, code := run(t, append([]string{"pretrain", "--config", "tiny", "--out", runDir}, smallSets...)...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errs)
	}
	return runDir
}

func TestCheckpointVerify(t *testing.T) {
	runDir := trainedRun(t)
	ckDir := filepath.Join(runDir, checkpoint.CheckpointsDir)
	step4, step8 := filepath.Join(ckDir, checkpoint.StepDirName(4)), filepath.Join(ckDir, checkpoint.StepDirName(8))
	out, errs, code := run(t, "checkpoint", "verify", runDir)
	if code != 0 || !strings.HasPrefix(out, "ok: 8 "+step8+" (2 files, ") || !strings.Contains(out, " MB)") {
		t.Fatalf("verify: exit %d, %q %s", code, out, errs)
	}
	out, errs, code = run(t, "checkpoint", "verify", "--all", runDir)
	if code != 0 || strings.Count(out, "ok: ") != 2 || !strings.Contains(out, "ok: 4 "+step4) {
		t.Fatalf("verify --all: exit %d, %q %s", code, out, errs)
	}

	bad := filepath.Join(step8, checkpoint.ShardFile(checkpoint.GroupOptimizer, 0))
	b, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = run(t, "checkpoint", "verify", runDir)
	if code != 1 || strings.Contains(out, "ok:") || !strings.Contains(errs, bad) || !strings.Contains(errs, "corrupt") {
		t.Fatalf("verify of a corrupt checkpoint: exit %d, stdout %q, stderr %q; want exit 1 naming %s", code, out, errs, bad)
	}
	out, errs, code = run(t, "checkpoint", "verify", "--all", runDir)
	if code != 1 || !strings.Contains(out, "ok: 4 "+step4) || !strings.Contains(errs, "FAILED: "+step8) || !strings.Contains(errs, "1 of 2 checkpoints") {
		t.Fatalf("verify --all with step 8 corrupt: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// A manifest whose configuration describes another model: the files
	// are intact, the shapes are not the configuration's.
	mpath := filepath.Join(step4, checkpoint.ManifestFile)
	mb, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(mb), `d_model: 32\n`, `d_model: 64\n`, 1)
	if edited == string(mb) {
		t.Fatal("the manifest's configuration has no d_model: 32")
	}
	if err := os.WriteFile(mpath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = run(t, "checkpoint", "verify", step4)
	if code != 1 || !strings.Contains(errs, mpath) || !strings.Contains(errs, "configuration") {
		t.Fatalf("verify of a manifest with another model's configuration: exit %d, stderr %q", code, errs)
	}
	if _, errs, code = run(t, "checkpoint", "verify", "--all", t.TempDir()); code != 1 || !strings.Contains(errs, "no step-NNNNNNNN") {
		t.Fatalf("verify --all of an empty directory: exit %d, %s", code, errs)
	}
}

// groupCounts returns the tensor and element counts of ts.
func groupCounts(ts map[string]*autograd.Tensor) infoGroup {
	var g infoGroup
	for _, x := range ts {
		g.Tensors++
		g.Parameters += int64(x.Len())
	}
	return g
}

func TestCheckpointInfo(t *testing.T) {
	runDir := trainedRun(t)
	step8 := filepath.Join(runDir, checkpoint.CheckpointsDir, checkpoint.StepDirName(8))
	ck, err := checkpoint.Load(step8)
	if err != nil {
		t.Fatal(err)
	}
	// The same checkpoint in format 1.
	v1Run := t.TempDir()
	v1, err := checkpoint.Save(v1Run, 8, ck)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir, layout string
		format      int
	}{{step8, "layout:     1 rank (data parallel 1 x expert parallel 1)", 2}, {v1, "", 1}} {
		out, errs, code := run(t, "checkpoint", "info", c.dir, "--json")
		if code != 0 {
			t.Fatalf("info --json %s: exit %d: %s", c.dir, code, errs)
		}
		var info checkpointInfo
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("info --json: %v: %s", err, out)
		}
		if info.FormatVersion != c.format || info.Step != 8 || (info.Layout != nil) != (c.format == 2) {
			t.Errorf("%s: format %d, step %d, layout %+v", c.dir, info.FormatVersion, info.Step, info.Layout)
		}
		if g := info.Groups[checkpoint.GroupModel]; g != groupCounts(ck.Model) {
			t.Errorf("%s: model group %+v, want %+v", c.dir, g, groupCounts(ck.Model))
		}
		if g := info.Groups[checkpoint.GroupOptimizer]; g != groupCounts(ck.Optimizer) {
			t.Errorf("%s: optimizer group %+v, want %+v", c.dir, g, groupCounts(ck.Optimizer))
		}
		if m := info.Model; m == nil || *m != (infoModel{DModel: 32, NLayers: 2, Experts: "4", TopK: 2}) {
			t.Errorf("%s: model %+v", c.dir, info.Model)
		}
		if info.Metrics["tokens"] != 8*4*32 || info.Metrics["skipped_steps"] != 0 {
			t.Errorf("%s: metrics %v", c.dir, info.Metrics)
		}
		if _, ok := info.Data["position"]; !ok {
			t.Errorf("%s: data %v lacks the sampler position", c.dir, info.Data)
		}
		if info.Files != 2 || info.Bytes <= 0 {
			t.Errorf("%s: %d files, %d bytes", c.dir, info.Files, info.Bytes)
		}
		text, errs, code := run(t, "checkpoint", "info", c.dir)
		if code != 0 {
			t.Fatalf("info %s: exit %d: %s", c.dir, code, errs)
		}
		wants := []string{"step:       8", "config:     d_model 32, n_layers 2, experts 4, top_k 2", "data:       epoch 0, position ", "metrics:    tokens 1024, skipped_steps 0"}
		if c.layout != "" {
			wants = append(wants, c.layout)
		}
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("info %s lacks %q:\n%s", c.dir, want, text)
			}
		}
	}
}

// sameTensors fails t unless a and b hold the same tensors, bit for bit.
func sameTensors(t *testing.T, what string, a, b map[string]*autograd.Tensor) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d tensors, want %d", what, len(b), len(a))
	}
	for name, x := range a {
		y, ok := b[name]
		if !ok || !slices.Equal(x.Shape(), y.Shape()) || x.DType() != y.DType() {
			t.Fatalf("%s: tensor %q missing or of another shape or dtype", what, name)
		}
		for i := range x.Len() {
			var u, v uint64
			if x.DType() == autograd.Float64 {
				u, v = math.Float64bits(x.F64()[i]), math.Float64bits(y.F64()[i])
			} else {
				u, v = uint64(math.Float32bits(x.F32()[i])), uint64(math.Float32bits(y.F32()[i]))
			}
			if u != v {
				t.Fatalf("%s: tensor %q element %d differs", what, name, i)
			}
		}
	}
}

func TestCheckpointReshard(t *testing.T) {
	runDir := trainedRun(t)
	step8 := filepath.Join(runDir, checkpoint.CheckpointsDir, checkpoint.StepDirName(8))
	orig, err := checkpoint.Load(step8)
	if err != nil {
		t.Fatal(err)
	}
	// A format-1 source (as an imported checkpoint is) with a blob.
	blob := []byte("kept as it is\n")
	src := t.TempDir()
	withBlob := *orig
	withBlob.Blobs = map[string][]byte{"notes.txt": blob}
	if _, err := checkpoint.Save(src, 8, &withBlob); err != nil {
		t.Fatal(err)
	}
	want := evalLoss(t, runDir)
	for _, l := range []struct{ world, ep int }{{2, 1}, {4, 2}} {
		out := filepath.Join(t.TempDir(), "resharded")
		stdout, errs, code := run(t, "checkpoint", "reshard", "--in", src, "--out", out,
			"--set", "parallel.world_size="+strconv.Itoa(l.world), "--set", "parallel.expert_parallel="+strconv.Itoa(l.ep))
		if code != 0 {
			t.Fatalf("reshard to %d x %d: exit %d: %s", l.world, l.ep, code, errs)
		}
		if !strings.Contains(stdout, "ok: 8 ") {
			t.Errorf("reshard output lacks the ok line: %s", stdout)
		}
		dir := filepath.Join(out, checkpoint.CheckpointsDir, checkpoint.StepDirName(8))
		got, err := checkpoint.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		what := "reshard " + strconv.Itoa(l.world) + "x" + strconv.Itoa(l.ep)
		sameTensors(t, what+" model", orig.Model, got.Model)
		sameTensors(t, what+" optimizer", orig.Optimizer, got.Optimizer)
		if got.Layout == nil || *got.Layout != (checkpoint.Layout{WorldSize: l.world, ExpertParallel: l.ep}) {
			t.Errorf("%s: layout %+v", what, got.Layout)
		}
		if got.Config != orig.Config || string(got.Sampler) != string(orig.Sampler) || !got.Created.Equal(orig.Created) ||
			string(got.RNG["train"]) != string(orig.RNG["train"]) || got.Metrics["tokens"] != orig.Metrics["tokens"] {
			t.Errorf("%s: config, sampler, created, RNG or metrics differ", what)
		}
		if b, ok, err := checkpoint.ReadBlob(dir, "notes.txt"); err != nil || !ok || string(b) != string(blob) {
			t.Errorf("%s: blob %q, %v, %v", what, b, ok, err)
		}
		m, err := checkpoint.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		// Every rank holds its share: each rank's model file holds a piece
		// of the embedding, and with expert parallelism an expert tensor's
		// rank r piece starts inside expert range r%ep.
		for r := range l.world {
			if _, ok := m.Files[checkpoint.ShardFile(checkpoint.GroupModel, r)]; !ok {
				t.Errorf("%s: no model file for rank %d", what, r)
			}
		}
		w1 := m.Tensors["layers.0.moe.experts.w1"]
		n := int64(1)
		for _, d := range w1.Shape {
			n *= int64(d)
		}
		for _, p := range w1.Pieces {
			var r int
			if _, err := fmt.Sscanf(p.File, "model-rank-%05d.safetensors", &r); err != nil {
				t.Fatal(err)
			}
			if rangeOf := p.Offset / (n / int64(l.ep)); rangeOf != int64(r%l.ep) {
				t.Errorf("%s: rank %d's piece of w1 starts at %d, in expert range %d, want %d", what, r, p.Offset, rangeOf, r%l.ep)
			}
		}
		if got := evalLoss(t, out); got != want {
			t.Errorf("%s: eval loss %v, the original's %v", what, got, want)
		}
	}

	out := filepath.Join(t.TempDir(), "x")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "checkpoint", "reshard", "--in", src, "--out", out, "--set", "parallel.world_size=2"); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("reshard into an existing --out: exit %d: %s", code, errs)
	}
	fresh := filepath.Join(t.TempDir(), "y")
	_, errs, code := run(t, "checkpoint", "reshard", "--in", src, "--out", fresh, "--set", "parallel.world_size=3", "--set", "parallel.expert_parallel=3")
	if code != 1 || !strings.Contains(errs, "E = 4") || !strings.Contains(errs, "1, 2, 4") {
		t.Errorf("reshard with expert_parallel 3 of 4 experts: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused reshard left %s behind (%v)", fresh, err)
	}
	// An empty tensor cannot be held by pieces: refused, not dropped.
	empty := *orig
	empty.Model = maps.Clone(orig.Model)
	empty.Model["extra.empty"] = autograd.New(autograd.Float32, 0, 4)
	emptySrc := t.TempDir()
	if _, err := checkpoint.Save(emptySrc, 8, &empty); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := run(t, "checkpoint", "reshard", "--in", emptySrc, "--out", fresh, "--set", "parallel.world_size=2"); code != 1 || !strings.Contains(errs, `"extra.empty"`) {
		t.Errorf("reshard of a checkpoint with an empty tensor: exit %d: %s", code, errs)
	}
	for _, bad := range [][]string{{"--set", "parallel.world_size=4", "--set", "parallel.expert_parallel=3"}, {"--set", "train.steps=3"}, {}} {
		args := append([]string{"checkpoint", "reshard", "--in", src, "--out", fresh}, bad...)
		if _, errs, code := run(t, args...); code != 1 || !strings.Contains(errs, "parallel.") {
			t.Errorf("reshard %v: exit %d: %s", bad, code, errs)
		}
	}
}
