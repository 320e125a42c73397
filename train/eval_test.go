package train

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/layers"
)

// refWindowLoss computes the mean next-token loss of one window by hand from
// the model's logits: log-softmax in float64, then the target's negative log.
func refWindowLoss(m *layers.Model, tokens []int32) float64 {
	tp := autograd.NewNoGradTape()
	t := len(tokens) - 1
	lg := m.Forward(tp, tokens[:t], 1, t, layers.ForwardOptions{}).Logits
	v := m.Cfg.Vocab
	var sum float64
	for i := 0; i < t; i++ {
		mx := math.Inf(-1)
		for j := 0; j < v; j++ {
			mx = math.Max(mx, lg.At(i*v+j))
		}
		var z float64
		for j := 0; j < v; j++ {
			z += math.Exp(lg.At(i*v+j) - mx)
		}
		sum += -(lg.At(i*v+int(tokens[i+1])) - mx - math.Log(z))
	}
	return sum / float64(t)
}

// TestEvalKnownWindow: a text file of exactly seq_len+1 tokens is one window,
// and its loss equals the hand computation; longer streams are predicted
// token by token exactly once.
func TestEvalKnownWindow(t *testing.T) {
	c := testConfig(t)
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	text := "The orchard bees came home at dusk, heavy with pollen!"[:c.Train.SeqLen+1]
	path := filepath.Join(t.TempDir(), "window.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Data.Path = path
	toks, _, err := LoadTokens(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != c.Train.SeqLen+1 {
		t.Fatalf("%d tokens, want %d", len(toks), c.Train.SeqLen+1)
	}
	got := EvalTokens(m, toks, c.Train.MicroBatchSize, c.Train.SeqLen)
	want := refWindowLoss(m, toks)
	if got.Tokens != c.Train.SeqLen || math.Abs(got.Loss-want) > 1e-5 || math.Abs(got.PPL-math.Exp(want)) > 1e-4 {
		t.Errorf("eval = %+v, want loss %v over %d tokens", got, want, c.Train.SeqLen)
	}
	// Two full windows plus a 5-token tail: 2T + 4 predictions.
	long := append(append(append([]int32{}, toks...), toks[1:]...), toks[1:6]...)
	res := EvalTokens(m, long, 1, c.Train.SeqLen)
	if res.Tokens != len(long)-1 {
		t.Errorf("%d tokens predicted of a %d-token stream, want %d", res.Tokens, len(long), len(long)-1)
	}
}

// TestExportImportRoundTrip: exporting to the HF layout and importing back
// gives identical weights and the identical eval loss.
func TestExportImportRoundTrip(t *testing.T) {
	for _, preset := range []string{"tiny", "dense"} {
		c := testConfig(t)
		if preset == "dense" {
			c = testConfig(t, "moe.num_experts=0")
		}
		m, err := NewModel(c)
		if err != nil {
			t.Fatal(err)
		}
		hf := filepath.Join(t.TempDir(), "hf")
		if err := checkpoint.ExportHF(hf, c, ModelTensors(m)); err != nil {
			t.Fatal(err)
		}
		dir, err := ImportHF(hf, filepath.Join(t.TempDir(), "run"))
		if err != nil {
			t.Fatal(err)
		}
		_, m2, _, err := LoadModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		toks, _, err := LoadTokens(c)
		if err != nil {
			t.Fatal(err)
		}
		toks = toks[:4*c.Train.SeqLen+1]
		a := EvalTokens(m, toks, 2, c.Train.SeqLen)
		b := EvalTokens(m2, toks, 2, c.Train.SeqLen)
		if a != b {
			t.Errorf("%s: eval before export %+v, after import %+v", preset, a, b)
		}
	}
}

// TestExportRefusesHybrid: a model Mixtral cannot express is refused with the reason.
func TestExportRefusesHybrid(t *testing.T) {
	c := testConfig(t, "moe.layer_freq=2")
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	err = checkpoint.ExportHF(t.TempDir(), c, ModelTensors(m))
	if err == nil || !strings.Contains(err.Error(), "hybrid") {
		t.Fatalf("export of a hybrid model: %v", err)
	}
}

// TestExportUsesMixtralNames: the exported tensors carry HuggingFace
// Mixtral's names and shapes, and config.json its keys.
func TestExportUsesMixtralNames(t *testing.T) {
	c := testConfig(t) // D=32, 2 layers, H=2, Hkv=1, E=4, F=32, V=256
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := checkpoint.ExportHF(dir, c, ModelTensors(m)); err != nil {
		t.Fatal(err)
	}
	ts, _, err := checkpoint.ReadSafetensors(filepath.Join(dir, checkpoint.HFWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"model.embed_tokens.weight":                           {256, 32},
		"model.norm.weight":                                   {32},
		"lm_head.weight":                                      {256, 32},
		"model.layers.1.input_layernorm.weight":               {32},
		"model.layers.1.post_attention_layernorm.weight":      {32},
		"model.layers.1.self_attn.q_proj.weight":              {32, 32},
		"model.layers.1.self_attn.k_proj.weight":              {16, 32},
		"model.layers.1.self_attn.v_proj.weight":              {16, 32},
		"model.layers.1.self_attn.o_proj.weight":              {32, 32},
		"model.layers.1.block_sparse_moe.gate.weight":         {4, 32},
		"model.layers.1.block_sparse_moe.experts.3.w1.weight": {32, 32},
		"model.layers.1.block_sparse_moe.experts.3.w2.weight": {32, 32},
		"model.layers.1.block_sparse_moe.experts.3.w3.weight": {32, 32},
	}
	for name, shape := range want {
		got, ok := ts[name]
		if !ok {
			t.Errorf("export lacks %s", name)
			continue
		}
		if !slices.Equal(got.Shape(), shape) {
			t.Errorf("%s has shape %v, want %v", name, got.Shape(), shape)
		}
	}
	// 2 layers x (2 norms + 4 attention + gate + 4 experts x 3) + embed + norm + head
	if n := 2*(2+4+1+4*3) + 3; len(ts) != n {
		t.Errorf("%d tensors exported, want %d", len(ts), n)
	}
	raw, err := os.ReadFile(filepath.Join(dir, checkpoint.HFConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"model_type": "mixtral"`, `"num_local_experts": 4`, `"num_experts_per_tok": 2`,
		`"hidden_size": 32`, `"num_key_value_heads": 1`, `"intermediate_size": 32`, `"MixtralForCausalLM"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("config.json lacks %s:\n%s", key, raw)
		}
	}
}

// TestSetModelTensorsRefusesOtherModels: a missing, mis-shaped or unknown
// tensor is an error naming it, and the model keeps its weights.
func TestSetModelTensorsRefusesOtherModels(t *testing.T) {
	c := testConfig(t)
	m, err := NewModel(c)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Params()[0].At(0)
	cases := map[string]func(ts map[string]*autograd.Tensor){
		"norm.weight":  func(ts map[string]*autograd.Tensor) { delete(ts, "norm.weight") },
		"lm_head":      func(ts map[string]*autograd.Tensor) { ts["lm_head.weight"] = autograd.New(autograd.Float32, 3, 3) },
		"layers.9.mlp": func(ts map[string]*autograd.Tensor) { ts["layers.9.mlp.w1.weight"] = autograd.New(autograd.Float32, 1) },
	}
	for want, mutate := range cases {
		ts := map[string]*autograd.Tensor{}
		for name, p := range ModelTensors(m) {
			q := p.Clone()
			for i := range q.F32() {
				q.F32()[i] = 7
			}
			ts[name] = q
		}
		mutate(ts)
		err := SetModelTensors(m, ts, "ckpt")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
		if m.Params()[0].At(0) != before {
			t.Errorf("%s: the refused load changed the model", want)
		}
	}
}
