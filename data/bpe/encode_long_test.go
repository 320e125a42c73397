package bpe

import (
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/internal/rng"
)

func TestQueuedMergeMatchesRescan(t *testing.T) {
	tok, err := Train([]string{"aaaa abab abba banana bandana " + strings.Repeat("ab", 40) + " zzzz 1234567 ----====",
		"the theme then there these", "mississippi missing misses"}, 360)
	if err != nil {
		t.Fatal(err)
	}
	words := []string{strings.Repeat("a", 300), strings.Repeat("ab", 150), strings.Repeat("ba", 77) + "n",
		"thethemethenthere" + strings.Repeat("mississippi", 20), strings.Repeat("-=", 100), strings.Repeat("1234567", 30)}
	r := rng.New(5)
	alphabet := "abnstehmip-="
	for range 300 {
		b := make([]byte, 1+r.IntN(200))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		words = append(words, string(b))
	}
	for _, w := range words {
		syms := func() []int32 {
			s := make([]int32, len(w))
			for i := range len(w) {
				s[i] = tok.byteID[w[i]]
			}
			return s
		}
		want := tok.mergeWordRescan(syms())
		got := tok.mergeWordQueued(syms())
		if !slices.Equal(got, want) {
			t.Fatalf("word %q: queued %v, rescan %v", w, got, want)
		}
	}
}

func TestLongWordEncodesQuickly(t *testing.T) {
	tok, err := Train([]string{strings.Repeat("abcd", 1000)}, 300)
	if err != nil {
		t.Fatal(err)
	}
	word := strings.Repeat("abcd", 50_000) // one 200 KB word: quadratic merging would take minutes
	ids := tok.Encode(word)
	if tok.Decode(ids) != word || len(ids) >= len(word)/2 {
		t.Fatalf("%d ids for %d bytes", len(ids), len(word))
	}
}
