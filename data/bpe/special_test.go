package bpe

// Mutations tried on special.go, and the test that failed:
//   - the vocabulary not searched after added_tokens: TestEndOfTextFromVocabulary

import (
	"strings"
	"testing"
)

func TestEndOfTextFromAddedTokens(t *testing.T) {
	src := handWrittenJSON(map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261})
	tok, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	id, err := tok.EndOfText()
	if err != nil || id != 262 {
		t.Fatalf("EndOfText = %d, %v; want 262 (<|endoftext|> of added_tokens)", id, err)
	}
	if got := tok.Encode("a<|endoftext|>b"); len(got) < 3 || containsID(got, 262) {
		t.Fatalf("Encode produced the end-of-text id from text: %v", got)
	}
}

func TestEndOfTextFromVocabulary(t *testing.T) {
	src := handWrittenJSON(map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261, "</s>": 263})
	src = strings.Replace(src, `"<|endoftext|>"`, `"<pad>"`, 1)
	tok, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := tok.EndOfText(); err != nil || id != 263 {
		t.Fatalf("EndOfText = %d, %v; want 263 (</s> of the vocabulary)", id, err)
	}
}

func TestEndOfTextMissingSaysWhatToAdd(t *testing.T) {
	tok, err := Train([]string{"aa bb aa"}, 258)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tok.EndOfText()
	if err == nil {
		t.Fatal("a trained tokenizer without special tokens gave an end-of-text id")
	}
	for _, want := range []string{"added_tokens", "<|endoftext|>", `"id": ` + itoa(tok.VocabSize())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func containsID(ids []int32, id int32) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}
