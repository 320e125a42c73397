package corpus

import (
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/corpus/prose"
)

func TestDefaultIsUpToDate(t *testing.T) {
	want := prose.Generate(prose.DefaultSeed, prose.DefaultSize)
	if Default() != want {
		t.Fatal("default.txt differs from the generator's output; run `go generate ./data/corpus`")
	}
}

func TestDefaultShape(t *testing.T) {
	text := Default()
	if n := len(text); n < 300_000 || n > 600_000 {
		t.Fatalf("%d bytes, want 300-600 KB", n)
	}
	paragraphs := strings.Count(text, "\n\n")
	words := len(strings.Fields(text))
	vocab := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(text)) {
		vocab[strings.Trim(w, ".,;:?!\"'")] = true
	}
	t.Logf("%d bytes, %d paragraphs, %d words, %d distinct words", len(text), paragraphs, words, len(vocab))
	if len(vocab) < 800 {
		t.Errorf("only %d distinct words; the corpus should have a rich vocabulary", len(vocab))
	}
	for _, c := range text {
		if c > 127 {
			t.Fatalf("non-ASCII character %q; the corpus is plain ASCII", c)
		}
	}
}
