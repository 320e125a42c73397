package bpe

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/internal/rng"
	"github.com/moetrain/moetrain/data/internal/testcorpus"
)

const shakespearePath = "../../../shared/data/tinyshakespeare.txt"

func readShakespeare(t *testing.T) string {
	t.Helper()
	return string(testcorpus.Read(t, shakespearePath))
}

func TestByteLevelAlphabetIsBijective(t *testing.T) {
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		if seen[r] {
			t.Fatalf("rune %q used twice", r)
		}
		seen[r] = true
	}
	if byteToRune[' '] != 'Ġ' || byteToRune['\n'] != 'Ċ' || byteToRune['a'] != 'a' {
		t.Fatalf("space/newline/a map to %q %q %q, want Ġ Ċ a", byteToRune[' '], byteToRune['\n'], byteToRune['a'])
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	back, ok := fromByteLevel(toByteLevel(all))
	if !ok || !bytes.Equal(back, all) {
		t.Fatal("byte-level round trip lost bytes")
	}
}

func TestTrainSmallCorpus(t *testing.T) {
	texts := []string{"low lower lowest", "low low newer newest", "wider widest low"}
	tok, err := Train(texts, 270)
	if err != nil {
		t.Fatal(err)
	}
	if tok.NumMerges() == 0 || tok.VocabSize() != 256+tok.NumMerges() {
		t.Fatalf("vocab %d with %d merges", tok.VocabSize(), tok.NumMerges())
	}
	// " low" occurs 4 times (and "low" once): its merges come first.
	if got := tok.Encode(" low"); len(got) != 1 {
		t.Errorf("Encode(\" low\") = %v (%q), want a single token", got, tok.Decode(got))
	}
	for _, s := range texts {
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("round trip %q -> %q", s, got)
		}
	}
	again, _ := Train(texts, 270)
	a, _ := tok.MarshalJSON()
	b, _ := again.MarshalJSON()
	if !bytes.Equal(a, b) {
		t.Error("training twice gave different tokenizers")
	}
}

func TestTrainRejectsTinyVocab(t *testing.T) {
	if _, err := Train([]string{"abc"}, 100); err == nil {
		t.Fatal("vocab 100 accepted")
	}
}

func TestTrainStopsWhenPairsRunOut(t *testing.T) {
	tok, err := Train([]string{"ab ab ab"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() >= 1000 || tok.VocabSize() <= 256 {
		t.Fatalf("vocab %d, want a few merges and an early stop", tok.VocabSize())
	}
}

func TestShakespeareRoundTripAndCompression(t *testing.T) {
	text := readShakespeare(t)
	train, held := text[:len(text)*9/10], text[len(text)*9/10:]
	tok, err := Train([]string{train}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1024 {
		t.Fatalf("vocab %d, want 1024", tok.VocabSize())
	}
	ids := tok.Encode(held)
	if got := tok.Decode(ids); got != held {
		t.Fatal("decode(encode(held-out text)) differs from the text")
	}
	ratio := float64(len(held)) / float64(len(ids))
	t.Logf("held-out: %d bytes -> %d tokens (%.2f bytes/token)", len(held), len(ids), ratio)
	if ratio < 2.0 {
		t.Errorf("%.2f bytes per token; a 1024-token BPE should compress English past 2", ratio)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= tok.VocabSize() {
			t.Fatalf("id %d out of range", id)
		}
	}

	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.VocabSize() != tok.VocabSize() || loaded.NumMerges() != tok.NumMerges() {
		t.Fatalf("loaded vocab %d merges %d, want %d %d", loaded.VocabSize(), loaded.NumMerges(), tok.VocabSize(), tok.NumMerges())
	}
	if !slices.Equal(loaded.Encode(held), ids) {
		t.Fatal("loaded tokenizer encodes differently")
	}
	a, _ := tok.MarshalJSON()
	b, _ := loaded.MarshalJSON()
	if !bytes.Equal(a, b) {
		t.Fatal("save(load(save(t))) differs from save(t)")
	}
}

func TestRoundTripArbitraryBytes(t *testing.T) {
	tok, err := Train([]string{"the cat sat on the mat; the dog sat on the log", "ünïcödé 日本 \t\r\n"}, 300)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(9)
	for range 200 {
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if got := tok.Decode(tok.Encode(string(b))); got != string(b) {
			t.Fatalf("round trip of %q gave %q", b, got)
		}
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tok, _ := Train([]string{"aa"}, 256)
	if got := tok.Decode([]int32{'h', 'i', 9999, -1}); got != "hi\uFFFD\uFFFD" {
		t.Fatalf("Decode = %q", got)
	}
}

// A GPT-2-style file as HuggingFace writes it (merges as pairs, an added token).
const handWritten = `{
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 262, "content": "<|endoftext|>", "single_word": false, "lstrip": false,
    "rstrip": false, "normalized": false, "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
    "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
    "vocab": VOCAB,
    "merges": [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["i", "n"], ["Ġ", "c"], ["a", "t"]]}
}`

func handWrittenJSON(extra map[string]int) string {
	var sb strings.Builder
	sb.WriteString("{")
	for b := range 256 {
		if b > 0 {
			sb.WriteString(",")
		}
		k, _ := marshalNoEscape(string(byteToRune[b]))
		sb.Write(k)
		sb.WriteString(":")
		sb.WriteString(itoa(b))
	}
	for k, v := range extra {
		kb, _ := marshalNoEscape(k)
		sb.WriteString(",")
		sb.Write(kb)
		sb.WriteString(":" + itoa(v))
	}
	sb.WriteString("}")
	return strings.Replace(handWritten, "VOCAB", sb.String(), 1)
}

func itoa(v int) string { return strconv.Itoa(v) }

func TestParseHuggingFaceFile(t *testing.T) {
	src := handWrittenJSON(map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261})
	tok, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 263 {
		t.Fatalf("vocab %d, want 263 (incl. the added token)", tok.VocabSize())
	}
	got := tok.Encode(" the cat in")
	want := []int32{258, 260, 261, ' ', 259} // " the", " c", "at", " ", "in"
	if !slices.Equal(got, want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	if s := tok.Decode([]int32{258, 262}); s != " the<|endoftext|>" {
		t.Fatalf("Decode = %q", s)
	}
	if tok.Token(258) != "Ġthe" {
		t.Fatalf("Token(258) = %q", tok.Token(258))
	}
}

func TestParseRejects(t *testing.T) {
	base := handWrittenJSON(map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261})
	tests := []struct {
		name, from, to, want string
	}{
		{"model type", `"type": "BPE"`, `"type": "WordPiece"`, "model.type"},
		{"normalizer", `"normalizer": null`, `"normalizer": {"type": "NFC"}`, "normalizer"},
		{"pre-tokenizer", `"pre_tokenizer": {"type": "ByteLevel"`, `"pre_tokenizer": {"type": "Whitespace"`, "pre_tokenizer"},
		{"missing merge result", `["a", "t"]`, `["a", "q"]`, "merge 5"},
		{"missing byte", `"a":97,`, ``, "byte 0x61"},
		{"not json", `{`, `[`, "not a tokenizer.json"},
	}
	for _, tc := range tests {
		src := strings.Replace(base, tc.from, tc.to, 1)
		if src == base {
			t.Fatalf("%s: replacement %q not found", tc.name, tc.from)
		}
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestAddPrefixSpace(t *testing.T) {
	src := strings.Replace(handWrittenJSON(map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261}),
		`"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false`, `"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true`, 1)
	tok, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("the"); !slices.Equal(got, []int32{258}) {
		t.Fatalf("Encode(\"the\") with add_prefix_space = %v, want [258]", got)
	}
}
