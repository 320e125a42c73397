package bpe

// Mutations caught: removing the id bound in newTokenizer lets the seed with
// an id near 2^31 allocate gigabytes (the fuzz run dies of memory); removing
// the round-trip check below would hide a Parse that accepts what
// MarshalJSON cannot reproduce.

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary tokenizer.json content to Parse: it must return a
// tokenizer or an error, never panic or allocate by an unchecked claim, and a
// tokenizer it returns must survive a save and a parse.
func FuzzParse(f *testing.F) {
	vocab := map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": 261}
	good := handWrittenJSON(vocab)
	f.Add([]byte(good))
	f.Add([]byte(strings.Replace(good, `"at":261`, `"at":2147483000`, 1)))
	f.Add([]byte(strings.Replace(good, `"id": 262`, `"id": 2147483600`, 1)))
	f.Add([]byte(strings.Replace(good, `"type": "BPE"`, `"type": "Unigram"`, 1)))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {}, "merges": []}}`))
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": -1}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := Parse(data)
		if err != nil {
			return
		}
		if tok.VocabSize() < 256 {
			t.Fatalf("parsed a tokenizer of %d tokens, fewer than the 256 bytes", tok.VocabSize())
		}
		b, err := tok.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of a parsed tokenizer: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("a saved tokenizer does not parse: %v", err)
		}
		if again.VocabSize() != tok.VocabSize() {
			t.Fatalf("vocabulary %d after a round trip, want %d", again.VocabSize(), tok.VocabSize())
		}
		_ = tok.Decode(tok.Encode("the cat in the hat"))
	})
}
