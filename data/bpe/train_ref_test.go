package bpe

import (
	"slices"
	"testing"

	"github.com/moetrain/moetrain/data/internal/testcorpus"
)

// trainReference is the plain algorithm: recount every pair of every word after
// each merge and take the most frequent (ties to the smaller pair key).
func trainReference(texts []string, vocabSize int) []merge {
	freq := map[string]int64{}
	for _, s := range texts {
		splitWords(s, func(w string) { freq[w]++ })
	}
	type wordSyms struct {
		syms  []int32
		count int64
	}
	var words []wordSyms
	for w, c := range freq {
		syms := make([]int32, len(w))
		for i := range len(w) {
			syms[i] = int32(w[i])
		}
		words = append(words, wordSyms{syms, c})
	}
	var merges []merge
	for next := int32(256); int(next) < vocabSize; next++ {
		counts := map[uint64]int64{}
		for _, w := range words {
			for j := 0; j+1 < len(w.syms); j++ {
				counts[pairKey(w.syms[j], w.syms[j+1])] += w.count
			}
		}
		var best uint64
		bestCount := int64(0)
		for p, c := range counts {
			if c > bestCount || (c == bestCount && p < best) {
				best, bestCount = p, c
			}
		}
		if bestCount < MinPairCount {
			break
		}
		l, r := int32(best>>32), int32(uint32(best))
		for i := range words {
			words[i].syms = mergePair(words[i].syms, l, r, next)
		}
		merges = append(merges, merge{l, r, next})
	}
	return merges
}

func TestTrainMatchesReference(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
		vocab int
	}{
		{"repeats", []string{"aaaa aaa aa abab ababab", "aaaaaaa bbbb abba"}, 300},
		{"words", []string{"the theme then there these thesis other mother brother", "the the the they"}, 320},
	}
	text := ""
	if b, ok := testcorpus.ReadIfPresent(t, shakespearePath); ok {
		text = string(b[:60000])
		tests = append(tests, struct {
			name  string
			texts []string
			vocab int
		}{"shakespeare", []string{text}, 400})
	}
	for _, tc := range tests {
		tok, err := Train(tc.texts, tc.vocab)
		if err != nil {
			t.Fatal(err)
		}
		want := trainReference(tc.texts, tc.vocab)
		if !slices.Equal(tok.merges, want) {
			n := min(len(tok.merges), len(want))
			for i := range n {
				if tok.merges[i] != want[i] {
					t.Fatalf("%s: merge %d = %v, reference %v", tc.name, i, tok.merges[i], want[i])
				}
			}
			t.Fatalf("%s: %d merges, reference %d", tc.name, len(tok.merges), len(want))
		}
	}
}
