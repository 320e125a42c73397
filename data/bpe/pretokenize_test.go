package bpe

import (
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/internal/rng"
)

func pieces(s string) []string {
	var out []string
	splitWords(s, func(p string) { out = append(out, p) })
	return out
}

func TestSplitWordsMatchesGPT2Pattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		{"I'm here, don't go", []string{"I", "'m", " here", ",", " don", "'t", " go"}},
		{"they'll've 'sun", []string{"they", "'ll", "'ve", " '", "sun"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"a \nb", []string{"a", " ", "\n", "b"}},
		{"end   ", []string{"end", "   "}},
		{"\tx", []string{"\t", "x"}},
		{"3.14 and 2024abc", []string{"3", ".", "14", " and", " 2024", "abc"}},
		{"hello!!! ok?!", []string{"hello", "!!!", " ok", "?!"}},
		{"  ?", []string{" ", " ?"}},
		{"héllo wörld", []string{"héllo", " wörld"}},
		{"日本語 テキスト", []string{"日本語", " テキスト"}},
		{"x\xff\xfey", []string{"x", "\xff\xfe", "y"}},
		{"func main() {\n\treturn\n}", []string{"func", " main", "()", " {", "\n", "\t", "return", "\n", "}"}},
	}
	for _, tc := range tests {
		if got := pieces(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitWordsCoversInput(t *testing.T) {
	alphabet := []string{"a", "Z", "é", "7", " ", "  ", "\n", "\t", "'", "'s", "!", ".", "日", "\xff", "\u00a0", "\u2003"}
	r := rng.New(1)
	for range 500 {
		var sb strings.Builder
		for range r.IntN(30) {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := sb.String()
		ps := pieces(s)
		if strings.Join(ps, "") != s {
			t.Fatalf("pieces of %q join to %q", s, strings.Join(ps, ""))
		}
		for _, p := range ps {
			if p == "" {
				t.Fatalf("empty piece in split of %q", s)
			}
		}
	}
}
