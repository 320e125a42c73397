package checkpoint

// Fuzz targets for the files moetrain opens from strangers: a safetensors
// file, a checkpoint manifest, and an HF directory (config.json beside one
// safetensors file). Each must end in a value or an error, never a panic, a
// hang or an allocation the input's size does not back.
//
// Mutations caught: dropping ReadManifest's file-name check makes
// FuzzReadManifest fail on its "../escape" seed; removing checkHFHeaders from
// ImportHF makes FuzzImportHF fail on its hidden_size 65536 seed (the
// imported configuration no longer fits the tensors).

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

// encodeTensors returns ts as safetensors bytes.
func encodeTensors(t testing.TB, ts map[string]*autograd.Tensor) []byte {
	t.Helper()
	es, err := tensorEntries(ts)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := encode(&b, es, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func FuzzReadSafetensors(f *testing.F) {
	good := encodeTensors(f, map[string]*autograd.Tensor{
		"a": autograd.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"b": autograd.FromSlice([]float64{-1}, 1),
	})
	f.Add(good)
	f.Add(good[:len(good)-3])                                                                   // truncated
	f.Add(buildFile(`{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}`, make([]byte, 8))) // short data
	f.Add(buildFile(`{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, make([]byte, 4)))
	f.Add(buildFile(`{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(buildFile(`{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		out := map[string]*autograd.Tensor{}
		if _, err := decode(bytes.NewReader(data), int64(len(data)), floatSink(out)); err == nil {
			total := 0
			for name, x := range out {
				n, ok := numel(x.Shape(), 1)
				if !ok || n != x.Len() {
					t.Fatalf("tensor %q: shape %v but %d elements", name, x.Shape(), x.Len())
				}
				total += x.Len()
			}
			if total > len(data) { // every element takes at least two bytes
				t.Fatalf("%d elements decoded from %d bytes", total, len(data))
			}
		}
		raw := map[string]RawTensor{}
		if _, err := decode(bytes.NewReader(data), int64(len(data)), rawSink(raw)); err == nil {
			for name, r := range raw {
				if err := r.check(); err != nil {
					t.Fatalf("tensor %q accepted but inconsistent: %v", name, err)
				}
			}
		}
	})
}

func FuzzReadManifest(f *testing.F) {
	m := Manifest{FormatVersion: 1, Step: 3, Config: "model:\n  d_model: 8\n", RNG: map[string][]byte{"train": {1, 2}},
		Metrics: Metrics{"tokens": 10, "loss": 2.5}, Files: map[string]FileSum{ModelFile: {Size: 8, SHA256: strings.Repeat("0", 64)}}}
	good, err := json.Marshal(&m)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format_version":1,"step":3,"files":{"model.safetensors":{},"../escape":{}}}`))
	f.Add([]byte(`{"format_version":1,"metrics":{"tokens":"NaN"},"files":{"model.safetensors":{"size":-1}}}`))
	f.Add([]byte(`{"format_version":99}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"format_version":1,"step":-5,"sampler":{"a":[1,2]},"files":{"model.safetensors":{"size":1e30}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), StepDirName(3))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadManifest(dir)
		if err != nil {
			if !strings.Contains(err.Error(), ManifestFile) {
				t.Fatalf("error %q does not name %s", err, ManifestFile)
			}
			return
		}
		for name := range got.Files {
			if name != filepath.Base(name) || name == ".." || name == "." {
				t.Fatalf("file entry %q accepted", name)
			}
		}
		if got.Step != 3 {
			t.Fatalf("step %d accepted in %s", got.Step, StepDirName(3))
		}
		if _, err := Load(dir); err == nil {
			t.Fatal("Load accepted a step directory without its model file")
		}
	})
}

// fuzzMixtral is a config.json small enough that its weights make a seed of
// a few kilobytes.
func fuzzMixtral() hfConfig {
	return hfConfig{ModelType: "mixtral", VocabSize: 256, HiddenSize: 8, IntermediateSize: 16, NumHiddenLayers: 1,
		NumAttentionHeads: 2, NumKeyValueHeads: 1, MaxPositionEmbeddings: 16, RopeTheta: 1e4, RMSNormEps: 1e-5,
		HiddenAct: "silu", NumLocalExperts: 2, NumExpertsPerTok: 1, TieWordEmbeddings: true}
}

func FuzzImportHF(f *testing.F) {
	hc := fuzzMixtral()
	cfgJSON, err := json.Marshal(hc)
	if err != nil {
		f.Fatal(err)
	}
	ts := hfTensors(f, hc)
	weights := encodeTensors(f, ts)
	f.Add(cfgJSON, weights)
	transposed := hfTensors(f, hc)
	transposed["model.layers.0.block_sparse_moe.experts.1.w2.weight"] = autograd.New(autograd.Float32, 16, 8) // [Fe, D], not [D, Fe]
	f.Add(cfgJSON, encodeTensors(f, transposed))
	big := hc
	big.HiddenSize, big.VocabSize = 65536, 50000
	bigJSON, _ := json.Marshal(big)
	f.Add(bigJSON, weights)
	f.Add([]byte(`{"model_type":"llama","num_hidden_layers":4000}`), weights)
	f.Add([]byte(`{`), []byte{})
	f.Fuzz(func(t *testing.T, config, weights []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, HFConfigFile), config, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, HFWeightsFile), weights, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, out, err := ImportHF(dir)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q names no file of %s", err, dir)
			}
			return
		}
		if err := CheckModelShapes(cfg, TensorShapes(out), dir); err != nil {
			t.Fatalf("imported tensors do not fit their configuration: %v", err)
		}
		total := 0
		for _, x := range out {
			total += x.Len()
		}
		if total > len(weights) {
			t.Fatalf("%d weights imported from %d bytes", total, len(weights))
		}
	})
}
