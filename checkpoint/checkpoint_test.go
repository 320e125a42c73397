package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/autograd"
)

// sampleCheckpoint returns a small checkpoint whose values depend on seed.
func sampleCheckpoint(t testing.TB, seed uint64) *Checkpoint {
	rng := rand.New(rand.NewPCG(seed, 1))
	fill := func(shape ...int) *autograd.Tensor {
		x := autograd.New(autograd.Float32, shape...)
		for i := range x.F32() {
			x.F32()[i] = rng.Float32()*2 - 1
		}
		return x
	}
	pcg := rand.NewPCG(seed, 2)
	state, err := pcg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &Checkpoint{
		Model: map[string]*autograd.Tensor{
			"embed.weight":                fill(16, 8),
			"layers.0.moe.experts.w1":     fill(4, 8, 12),
			"layers.0.attn_norm.weight":   fill(8),
			"layers.0.moe.router.scale":   f64([]float64{float64(seed)}, 1),
			"layers.0.moe.router.nothing": fill(0),
		},
		Optimizer: map[string]*autograd.Tensor{
			"exp_avg.embed.weight":    fill(16, 8),
			"exp_avg_sq.embed.weight": fill(16, 8),
			"step":                    f64([]float64{float64(seed)}, 1),
		},
		Config:  "model:\n  d_model: 8\n  experts: 4\n",
		Sampler: json.RawMessage(`{"epoch":1,"cursor":[3,5]}`),
		RNG:     map[string][]byte{"dropout": state},
		Metrics: Metrics{"loss": 2.5, "tokens": 1e6, "grad_norm": math.NaN(), "lr": math.Inf(1)},
		Created: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
	}
}

// checkSame compares a loaded checkpoint with the one saved.
func checkSame(t *testing.T, got, want *Checkpoint, step int) {
	t.Helper()
	if got.Step != step {
		t.Errorf("step %d, want %d", got.Step, step)
	}
	for _, pair := range []struct {
		what      string
		got, want map[string]*autograd.Tensor
	}{{"model", got.Model, want.Model}, {"optimizer", got.Optimizer, want.Optimizer}} {
		if len(pair.got) != len(pair.want) {
			t.Errorf("%s: %d tensors, want %d", pair.what, len(pair.got), len(pair.want))
		}
		for name, w := range pair.want {
			g, ok := pair.got[name]
			if !ok {
				t.Errorf("%s: tensor %q missing", pair.what, name)
				continue
			}
			if d := sameTensor(g, w); d != "" {
				t.Errorf("%s: tensor %q: %s", pair.what, name, d)
			}
		}
	}
	if got.Config != want.Config || string(got.Sampler) != string(want.Sampler) {
		t.Errorf("config/sampler: %q %s, want %q %s", got.Config, got.Sampler, want.Config, want.Sampler)
	}
	if string(got.RNG["dropout"]) != string(want.RNG["dropout"]) {
		t.Error("RNG state differs")
	}
	if len(got.Metrics) != len(want.Metrics) {
		t.Errorf("metrics %v, want %v", got.Metrics, want.Metrics)
	}
	for k, v := range want.Metrics {
		if g := got.Metrics[k]; math.Float64bits(g) != math.Float64bits(v) && !(math.IsNaN(g) && math.IsNaN(v)) {
			t.Errorf("metric %s = %v, want %v", k, g, v)
		}
	}
	if !want.Created.IsZero() && !got.Created.Equal(want.Created) {
		t.Errorf("created %v, want %v", got.Created, want.Created)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	run := t.TempDir()
	ck := sampleCheckpoint(t, 7)
	dir, err := Save(run, 42, ck)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(run, "checkpoints", "step-00000042"); dir != want {
		t.Fatalf("Save returned %s, want %s", dir, want)
	}
	if b := readBytes(t, filepath.Join(run, "checkpoints", "latest")); string(b) != "step-00000042\n" {
		t.Fatalf("latest holds %q", b)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, ck, 42)
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}

	// The manifest's checksums are those of the files as they lie on disk.
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.FormatVersion != FormatVersion || m.Step != 42 || len(m.Files) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	for name, sum := range m.Files {
		b := readBytes(t, filepath.Join(dir, name))
		h := sha256.Sum256(b)
		if hex.EncodeToString(h[:]) != sum.SHA256 || int64(len(b)) != sum.Size {
			t.Errorf("%s: manifest %+v does not match the file", name, sum)
		}
	}
	// The RNG state restores a generator that continues the same stream.
	var pcg rand.PCG
	if err := pcg.UnmarshalBinary(got.RNG["dropout"]); err != nil {
		t.Fatal(err)
	}
	if pcg.Uint64() != rand.NewPCG(7, 2).Uint64() {
		t.Error("restored RNG diverges")
	}
	// Nothing but the step directory and latest remains.
	des, _ := os.ReadDir(filepath.Join(run, "checkpoints"))
	if len(des) != 2 {
		t.Errorf("checkpoints dir holds %d entries, want 2", len(des))
	}
}

func TestSaveZeroCreatedAndNilOptimizer(t *testing.T) {
	run := t.TempDir()
	before := time.Now().Add(-time.Second)
	dir, err := Save(run, 0, &Checkpoint{Model: map[string]*autograd.Tensor{"w": f32([]float32{1}, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Created.Before(before) || got.Created.After(time.Now().Add(time.Second)) {
		t.Errorf("created %v, want about now", got.Created)
	}
	if len(got.Optimizer) != 0 || len(got.Model) != 1 || got.Step != 0 {
		t.Errorf("loaded %+v", got)
	}
}

func TestSaveReplacesExistingStep(t *testing.T) {
	run := t.TempDir()
	if _, err := Save(run, 5, sampleCheckpoint(t, 1)); err != nil {
		t.Fatal(err)
	}
	second := sampleCheckpoint(t, 2)
	dir, err := Save(run, 5, second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, second, 5)
	des, _ := os.ReadDir(filepath.Join(run, "checkpoints"))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".tmp-") {
			t.Errorf("debris %s left after replacing a step", de.Name())
		}
	}
}

func TestSaveRemovesStaleTemporaries(t *testing.T) {
	run := t.TempDir()
	ckDir := filepath.Join(run, "checkpoints")
	if _, err := Save(run, 1, sampleCheckpoint(t, 1)); err != nil {
		t.Fatal(err)
	}
	// Debris as a crash would leave it: a half-written step and a latest temp.
	stale := filepath.Join(ckDir, ".tmp-step-00000002-123")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, ModelFile), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ckDir, ".tmp-latest-9"), []byte("step-00000002"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, err := Resolve(run); err != nil || filepath.Base(dir) != "step-00000001" {
		t.Fatalf("Resolve with debris: %s, %v", dir, err)
	}
	if _, err := Save(run, 2, sampleCheckpoint(t, 2)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, filepath.Join(ckDir, ".tmp-latest-9")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the next save", p)
		}
	}
}

func TestSaveRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		step int
		ck   *Checkpoint
		want string
	}{
		{"nil checkpoint", 1, nil, "nil checkpoint"},
		{"negative step", -1, &Checkpoint{}, "negative step"},
		{"nil tensor", 1, &Checkpoint{Model: map[string]*autograd.Tensor{"w": nil}}, `model.safetensors: tensor "w" is nil`},
		{"bad sampler JSON", 1, &Checkpoint{Sampler: json.RawMessage(`{oops`)}, "manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			if _, err := Save(run, 0, sampleCheckpoint(t, 0)); err != nil {
				t.Fatal(err)
			}
			_, err := Save(run, tc.step, tc.ck)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			des, _ := os.ReadDir(filepath.Join(run, "checkpoints"))
			if len(des) != 2 {
				t.Errorf("failed save left %d entries, want step-00000000 and latest", len(des))
			}
			if dir, err := Resolve(run); err != nil || filepath.Base(dir) != "step-00000000" {
				t.Errorf("latest moved: %s, %v", dir, err)
			}
		})
	}
}

func TestLoadDetectsCorruption(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"flipped byte in model data", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, ModelFile), -5)
		}, []string{ModelFile, "corrupt", "sha256"}},
		{"flipped byte in optimizer header length", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, OptimizerFile), 2)
		}, []string{OptimizerFile, "corrupt", "sha256"}},
		{"truncated optimizer", func(t *testing.T, dir string) {
			p := filepath.Join(dir, OptimizerFile)
			b := readBytes(t, p)
			writeFile(t, p, b[:len(b)-4])
		}, []string{OptimizerFile, "corrupt", "bytes, manifest says"}},
		{"missing model", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ModelFile))
		}, []string{ModelFile, "no such file"}},
		{"manifest not JSON", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ManifestFile), []byte("{"))
		}, []string{ManifestFile}},
		{"future format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["format_version"] = 99 })
		}, []string{ManifestFile, "format version 99"}},
		{"step does not match directory", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["step"] = 8 })
		}, []string{ManifestFile, "step 8"}},
		{"file entry escapes the directory", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["files"].(map[string]any)["../x"] = map[string]any{"size": 1, "sha256": "00"}
			})
		}, []string{ManifestFile, `"../x"`}},
		{"no model entry", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { delete(m["files"].(map[string]any), ModelFile) })
		}, []string{ManifestFile, "no entry for " + ModelFile}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := Save(t.TempDir(), 3, sampleCheckpoint(t, 3))
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			for what, err := range map[string]error{"Load": loadErr(dir), "Verify": Verify(dir)} {
				if err == nil {
					t.Fatalf("%s of a damaged checkpoint succeeded", what)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", what, err, w)
					}
				}
			}
		})
	}
}

func loadErr(dir string) error { _, err := Load(dir); return err }

// flipByte inverts the byte at offset off of path (negative counts from the end).
func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b := readBytes(t, path)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0xff
	writeFile(t, path, b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editManifest rewrites dir's manifest through a generic JSON map.
func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, ManifestFile)
	var m map[string]any
	if err := json.Unmarshal(readBytes(t, p), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, b)
}

func TestMetricsJSON(t *testing.T) {
	in := Metrics{"a": 1.5, "nan": math.NaN(), "pinf": math.Inf(1), "ninf": math.Inf(-1), "zero": 0}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":1.5,"nan":"NaN","ninf":"-Inf","pinf":"+Inf","zero":0}`; string(b) != want {
		t.Errorf("encoded %s, want %s", b, want)
	}
	var out Metrics
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out["a"] != 1.5 || !math.IsNaN(out["nan"]) || !math.IsInf(out["pinf"], 1) || !math.IsInf(out["ninf"], -1) || out["zero"] != 0 {
		t.Errorf("decoded %v", out)
	}
	for _, bad := range []string{`{"x":"1.5"}`, `{"x":"fast"}`, `{"x":[1]}`, `[1]`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("decoded %s without error", bad)
		}
	}
}
