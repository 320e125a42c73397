package train

import (
	"math"
	"os"
	"path/filepath"
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
