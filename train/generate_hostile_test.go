package train

// Mutations caught: removing the CheckTokenIDs call in Generate makes
// TestGenerateRefusesForeignIDs fail (the embedding lookup panics); removing
// the non-finite logits check makes TestGenerateRefusesNonFiniteLogits fail
// (NaN logits sample token 0, a NUL byte, without a word).

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestGenerateRefusesForeignIDs: prompt ids the model's vocabulary lacks (a
// tokenizer file changed since training) are an error naming the id and the
// vocabulary size, not a panic.
func TestGenerateRefusesForeignIDs(t *testing.T) {
	m := generateModel(t)
	v := m.Cfg.Vocab
	for _, id := range []int32{int32(v), int32(v) + 5000, -1} {
		_, err := Generate(m, []int32{'a', id}, SampleOptions{MaxNewTokens: 2})
		if err == nil {
			t.Fatalf("prompt id %d with a vocabulary of %d: no error", id, v)
		}
		for _, want := range []string{"token 1", "id " + strconv.Itoa(int(id)), "vocabulary of " + strconv.Itoa(v)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("prompt id %d: %q lacks %q", id, err, want)
			}
		}
	}
}

// TestGenerateRefusesNonFiniteLogits: a model whose weights hold NaN gives
// NaN logits; Generate reports them instead of sampling.
func TestGenerateRefusesNonFiniteLogits(t *testing.T) {
	m := generateModel(t)
	poisoned := false
	for _, p := range m.Params() {
		if strings.Contains(p.Name, "embed") {
			poisoned = true
			for i := range p.Len() {
				p.Set(i, math.NaN())
			}
			break
		}
	}
	if !poisoned {
		t.Fatal("no embedding parameter to poison")
	}
	out, err := Generate(m, []int32{'a', 'b'}, SampleOptions{MaxNewTokens: 4})
	var nf *NonFiniteLogitsError
	if !errors.As(err, &nf) || out != nil {
		t.Fatalf("NaN weights: out %v, err %v; want a NonFiniteLogitsError", out, err)
	}
	if nf.Position != 1 || !math.IsNaN(nf.Value) || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("error %+v (%q): want position 1, a NaN value and the word non-finite", nf, err)
	}
}
