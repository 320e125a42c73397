package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/layers"
)

// inferenceTokens is a [2, 9] batch of byte ids.
var inferenceTokens = [][]int32{
	{'T', 'h', 'e', ' ', 'm', 'i', 'l', 'l', 'e'},
	{'r', ' ', 'w', 'a', 'l', 'k', 'e', 'd', '.'},
}

// TestInferenceLogitsEqualTheTrainersForward: a trained run opened from its
// run directory and from its step directory gives the same logits, bit for
// bit, as the trainer's own model, laid out as [B, T, V].
func TestInferenceLogitsEqualTheTrainersForward(t *testing.T) {
	c := testConfig(t, "train.steps=3", "train.checkpoint_every=3", "train.eval_every=0")
	dir := t.TempDir()
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c), Val: ds.EvalSet(c)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, tl, v := len(inferenceTokens), len(inferenceTokens[0]), c.Model.VocabSize
	flat := slices.Concat(inferenceTokens...)
	want := tr.Model().Forward(autograd.NewNoGradTape(), flat, b, tl, layers.ForwardOptions{}).Logits.Clone() // [N, V]

	stepDir := filepath.Join(dir, "checkpoints", "step-00000003")
	for _, arg := range []string{dir, stepDir} {
		inf, err := OpenInference(arg)
		if err != nil {
			t.Fatalf("OpenInference(%s): %v", arg, err)
		}
		if inf.Dir() != stepDir {
			t.Errorf("OpenInference(%s).Dir() = %s, want %s", arg, inf.Dir(), stepDir)
		}
		lg, err := inf.Logits(inferenceTokens)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal([]int(lg.Shape()), []int{b, tl, v}) || lg.Dtype() != tensor.Float32 {
			t.Fatalf("logits %v %v, want [%d %d %d] float32", lg.Shape(), lg.Dtype(), b, tl, v)
		}
		for i := range b {
			for j := range tl {
				for k := range v {
					got, err := lg.At(i, j, k)
					if err != nil {
						t.Fatal(err)
					}
					if w := want.At((i*tl+j)*v + k); float64(got.(float32)) != w {
						t.Fatalf("%s: logits[%d,%d,%d] = %v, the trainer's forward gives %v", arg, i, j, k, got, w)
					}
				}
			}
		}
		for _, p := range tr.Model().Params() {
			w, err := inf.Weight(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.Data().([]float32), p.F32()) {
				t.Fatalf("%s: weight %s differs from the trained parameter", arg, p.Name)
			}
		}
	}
}

// smallInference is an untrained test model wrapped in memory.
func smallInference(t *testing.T, sets ...string) *Inference {
	t.Helper()
	c := testConfig(t, sets...)
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	return NewInference(c, m)
}

// TestInferenceWeightRoundTrip: a weight read as a Dense, changed in
// gorgonia and handed back is what the model then holds and saves, and it
// changes the logits; the Dense read first is a copy the model does not see.
func TestInferenceWeightRoundTrip(t *testing.T) {
	inf := smallInference(t)
	const name = "layers.1.moe.experts.w2"
	before, err := inf.Logits(inferenceTokens)
	if err != nil {
		t.Fatal(err)
	}
	w, err := inf.Weight(name)
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := w.MulScalar(float32(3), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := inf.SetWeight(name, scaled); err != nil {
		t.Fatal(err)
	}
	got, err := inf.Weight(name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data().([]float32), scaled.Data().([]float32)) {
		t.Fatal("Weight after SetWeight is not the tensor handed in")
	}
	if slices.Equal(got.Data().([]float32), w.Data().([]float32)) {
		t.Fatal("the weight did not change")
	}
	after, err := inf.Logits(inferenceTokens)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before.Data().([]float32), after.Data().([]float32)) {
		t.Fatal("logits did not change with the expert weights")
	}

	// The change reaches a checkpoint written from the model, which a second
	// Save into the same run refuses to replace.
	runDir := t.TempDir()
	stepDir, err := inf.Save(runDir)
	if err != nil {
		t.Fatal(err)
	}
	re, err := OpenInference(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if re.Dir() != stepDir {
		t.Fatalf("Save returned %s, OpenInference found %s", stepDir, re.Dir())
	}
	var inUse *RunDirInUseError
	if _, err := inf.Save(runDir); !errors.As(err, &inUse) || inUse.LastStep != 0 {
		t.Fatalf("Save into a run that holds step 0: %v, want a RunDirInUseError", err)
	}
	back, err := re.Weight(name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Data().([]float32), scaled.Data().([]float32)) {
		t.Fatal("the checkpoint does not hold the weight set through SetWeight")
	}
}

// TestInferenceSetWeightsFromGorgonia: float64 tensors, transposed views and
// the router's expert bias all arrive in the model.
func TestInferenceSetWeightsFromGorgonia(t *testing.T) {
	inf := smallInference(t, "moe.router.expert_bias=true")
	const norm, gate, bias = "norm.weight", "layers.0.moe.gate.weight", "layers.0.moe.gate.expert_bias"
	infos := map[string][]int{}
	for _, w := range inf.Weights() {
		infos[w.Name] = w.Shape
	}
	d := infos[norm][0]
	e, dm := infos[gate][0], infos[gate][1]
	if !slices.Equal(infos[bias], []int{e}) {
		t.Fatalf("Weights lists %s as %v, want [%d]", bias, infos[bias], e)
	}

	n64 := make([]float64, d)
	for i := range n64 {
		n64[i] = 0.5 + float64(i)/8
	}
	// A [D, E] tensor transposed to the gate's [E, D]: a view, not contiguous.
	gt := make([]float32, dm*e)
	for i := range gt {
		gt[i] = float32(i) / 64
	}
	gview := tensor.New(tensor.WithShape(dm, e), tensor.WithBacking(gt))
	if err := gview.T(); err != nil {
		t.Fatal(err)
	}
	bs := make([]float32, e)
	for i := range bs {
		bs[i] = float32(i) - 1
	}
	err := inf.SetWeights(map[string]*tensor.Dense{
		norm: tensor.New(tensor.WithShape(d), tensor.WithBacking(n64)),
		gate: gview,
		bias: tensor.New(tensor.WithShape(e), tensor.WithBacking(bs)),
	})
	if err != nil {
		t.Fatal(err)
	}
	gotNorm, _ := inf.Weight(norm)
	for i, v := range gotNorm.Data().([]float32) {
		if v != float32(n64[i]) {
			t.Fatalf("%s[%d] = %v, want %v", norm, i, v, n64[i])
		}
	}
	gotGate, _ := inf.Weight(gate)
	for r := range e {
		for c := range dm {
			v, _ := gotGate.At(r, c)
			if v.(float32) != gt[c*e+r] {
				t.Fatalf("%s[%d,%d] = %v, want the transpose's %v", gate, r, c, v, gt[c*e+r])
			}
		}
	}
	if got := inf.Model().Blocks[0].MoE.Router.Bias(); !slices.Equal(got, bs) {
		t.Fatalf("router bias %v, want %v", got, bs)
	}
}

// TestInferenceRefusesBadInput: wrong names, shapes, dtypes, values and token
// batches are errors that name the problem, and a refused SetWeights changes
// no weight, not even its valid entries.
func TestInferenceRefusesBadInput(t *testing.T) {
	inf := smallInference(t)
	const name = "layers.0.self_attn.k_proj.weight" // [Hkv*Dh, D], not square
	w, err := inf.Weight(name)
	if err != nil {
		t.Fatal(err)
	}
	shape := []int(w.Shape())
	f32 := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	}
	nan := f32(shape...)
	nan.Data().([]float32)[5] = float32(math.NaN())

	for _, tc := range []struct {
		name string
		set  map[string]*tensor.Dense
		want string
	}{
		{"unknown name", map[string]*tensor.Dense{"layers.0.self_attn.qproj.weight": f32(shape...)}, `weight "layers.0.self_attn.qproj.weight": the model has no such weight; under "layers.0.self_attn" it has layers.0.self_attn.q_proj.weight, layers.0.self_attn.k_proj.weight`},
		{"unknown layer", map[string]*tensor.Dense{"blocks.0.mlp.w1": f32(1)}, "the model has no such weight; Weights lists the"},
		{"transposed shape", map[string]*tensor.Dense{name: f32(shape[1], shape[0])}, "reshape or transpose it to"},
		{"flat shape", map[string]*tensor.Dense{name: f32(shape[0] * shape[1])}, "shape [" + strconv.Itoa(shape[0]*shape[1]) + "], the model's is"},
		{"int dtype", map[string]*tensor.Dense{name: tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Int))}, "dtype int; pass a float32 or float64 tensor"},
		{"nil", map[string]*tensor.Dense{name: nil}, "nil tensor"},
		{"NaN", map[string]*tensor.Dense{name: nan}, "element 5 is NaN; weights must be finite"},
		{"one bad entry of two", map[string]*tensor.Dense{"norm.weight": f32(32), name: f32(1, 1)}, "shape [1 1]"},
	} {
		err := inf.SetWeights(tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if got, _ := inf.Weight(name); !slices.Equal(got.Data().([]float32), w.Data().([]float32)) {
		t.Error("a refused SetWeights changed the weight")
	}
	if got, _ := inf.Weight("norm.weight"); slices.Contains(got.Data().([]float32), 0) {
		t.Error("a refused SetWeights wrote its valid entry")
	}
	if _, err := inf.Weight("lm_head.bias"); err == nil || !strings.Contains(err.Error(), `weight "lm_head.bias": the model has no such weight; under "lm_head" it has lm_head.weight`) {
		t.Errorf("Weight of an unknown name: %v", err)
	}

	maxT := inf.Config().Model.MaxSeqLen
	for _, tc := range []struct {
		name   string
		tokens [][]int32
		want   string
	}{
		{"empty", nil, "logits: no tokens"},
		{"empty row", [][]int32{{}}, "logits: no tokens"},
		{"ragged", [][]int32{{1, 2, 3}, {1, 2}}, "row 1 has 2 tokens and row 0 has 3"},
		{"id too large", [][]int32{{1, 256}}, "row 0 position 1: token id 256 is outside the vocabulary [0, 256)"},
		{"negative id", [][]int32{{-1}}, "token id -1 is outside"},
		{"too long", [][]int32{make([]int32, maxT+1)}, "exceed model.max_seq_len " + strconv.Itoa(maxT)},
	} {
		if _, err := inf.Logits(tc.tokens); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if lg, err := inf.Logits([][]int32{make([]int32, maxT)}); err != nil || lg.Shape()[1] != maxT {
		t.Errorf("a row of max_seq_len tokens: %v", err)
	}

	if _, err := OpenInference(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("OpenInference of a missing directory succeeded")
	}
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenInference(empty); err == nil {
		t.Error("OpenInference of a run without checkpoints succeeded")
	}
}

// TestInferenceWeightsListsEveryTensor: Weights names every tensor a
// checkpoint holds, parameters first in the model's order.
func TestInferenceWeightsListsEveryTensor(t *testing.T) {
	inf := smallInference(t, "moe.router.expert_bias=true")
	ws := inf.Weights()
	ts := ModelTensors(inf.Model())
	if len(ws) != len(ts) {
		t.Fatalf("Weights lists %d, a checkpoint holds %d", len(ws), len(ts))
	}
	for i, p := range inf.Model().Params() {
		if ws[i].Name != p.Name || !slices.Equal(ws[i].Shape, p.Shape()) {
			t.Fatalf("Weights[%d] = %v, want %s %v", i, ws[i], p.Name, p.Shape())
		}
	}
	for _, w := range ws {
		tt, ok := ts[w.Name]
		if !ok || !slices.Equal(tt.Shape(), w.Shape) {
			t.Fatalf("Weights lists %s %v, the checkpoint's is %v", w.Name, w.Shape, tt)
		}
	}
	if last := ws[len(ws)-1].Name; !strings.HasSuffix(last, ".expert_bias") {
		t.Fatalf("last weight %s, want an expert bias", last)
	}
}

// TestInferenceEngineAndRepeatedCalls: forward passes run on the engine
// SetEngine names, repeated calls on one Inference give the same logits
// (the reused tape is reset between them), and an engine of one core gives
// the same bits as the default.
func TestInferenceEngineAndRepeatedCalls(t *testing.T) {
	inf := smallInference(t)
	if inf.Engine() != autograd.DefaultEngine() {
		t.Fatal("a new Inference is not on the default engine")
	}
	first, err := inf.Logits(inferenceTokens)
	if err != nil {
		t.Fatal(err)
	}
	e := autograd.NewEngine(autograd.EngineOptions{Cores: 1})
	defer e.Close()
	inf.SetEngine(e)
	e.StartGEMMAccounting()
	for range 3 {
		again, err := inf.Logits(inferenceTokens)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.Data().([]float32), first.Data().([]float32)) {
			t.Fatal("logits differ between calls or between engines")
		}
	}
	if acct := e.StopGEMMAccounting(); acct.Calls == 0 {
		t.Fatal("SetEngine: the forward passes did not run on the engine")
	}
}
