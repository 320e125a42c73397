package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/internal/testcorpus"
)

func TestByteTokenizer(t *testing.T) {
	var tok ByteTokenizer
	s := "héllo\x00\xff"
	ids := tok.Encode(s)
	if len(ids) != len(s) || ids[1] != 0xc3 || ids[len(ids)-1] != 255 {
		t.Fatalf("Encode = %v", ids)
	}
	if got := tok.Decode(ids); got != s {
		t.Fatalf("Decode = %q", got)
	}
	if got := tok.Decode([]int32{'a', 256, -1}); got != "a\uFFFD\uFFFD" {
		t.Fatalf("Decode of out-of-range ids = %q", got)
	}
	if tok.VocabSize() != 256 || tok.Name() != "byte" {
		t.Fatalf("VocabSize %d Name %q", tok.VocabSize(), tok.Name())
	}
}

func TestLoadTokenizerSpecs(t *testing.T) {
	for _, spec := range []string{"", "byte"} {
		tok, err := LoadTokenizer(spec)
		if err != nil || tok.Name() != "byte" {
			t.Fatalf("LoadTokenizer(%q) = %v, %v", spec, tok, err)
		}
	}
	_, err := LoadTokenizer(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("missing file: error %v", err)
	}
	if _, err := LoadTokenizer("bpe:512"); err == nil {
		t.Fatal("bpe:512 loaded as a file")
	}
}

func TestBPEOnShakespeare(t *testing.T) {
	text := string(testcorpus.Read(t, shakespearePath))
	cut := len(text) * 9 / 10
	tok, err := TrainBPE([]string{text[:cut]}, 512)
	if err != nil {
		t.Fatal(err)
	}
	held := text[cut:]
	ids := tok.Encode(held)
	if tok.Decode(ids) != held {
		t.Fatal("decode(encode(text)) differs from the text")
	}
	t.Logf("512-token BPE: %d held-out bytes -> %d tokens", len(held), len(ids))
	if len(ids) >= len(held)*6/10 {
		t.Errorf("%d tokens for %d bytes: a 512-token BPE should shorten English by more than 40%%", len(ids), len(held))
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadTokenizer(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != 512 || loaded.Name() != "bpe-512" || !slices.Equal(loaded.Encode(held), ids) {
		t.Fatalf("loaded %s (V=%d) encodes differently", loaded.Name(), loaded.VocabSize())
	}
}

func TestUnigramEntropy(t *testing.T) {
	tests := []struct {
		tokens []int32
		want   float64
	}{
		{nil, 0},
		{[]int32{3, 3, 3}, 0},
		{[]int32{0, 1, 2, 3}, 1.3862943611198906},       // ln 4
		{[]int32{0, 0, 1, 1, 0, 1}, 0.6931471805599453}, // ln 2
	}
	for _, tc := range tests {
		if got := UnigramEntropy(tc.tokens); abs(got-tc.want) > 1e-12 {
			t.Errorf("UnigramEntropy(%v) = %v, want %v", tc.tokens, got, tc.want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
