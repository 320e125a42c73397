package prose

import (
	"strings"
	"testing"
	"unicode"

	"github.com/moetrain/moetrain/data/internal/rng"
)

func TestGenerateIsDeterministicAndSized(t *testing.T) {
	a := Generate(7, 20000)
	if b := Generate(7, 20000); a != b {
		t.Fatal("same seed gave different text")
	}
	if len(a) < 20000 || len(a) > 40000 {
		t.Fatalf("%d bytes for size 20000", len(a))
	}
	if Generate(8, 20000) == a {
		t.Fatal("different seeds gave the same text")
	}
}

// TestEveryTemplateRenders fills every template of every topic several times and
// checks the sentences: no slot left, a capital first letter, closing punctuation.
func TestEveryTemplateRenders(t *testing.T) {
	r := rng.New(11)
	for ti, tp := range topics {
		w := &writer{r: r, t: tp, p: character{ref: tp.people[0].name, she: tp.people[0].she}}
		w.q = w.other(w.p)
		lists := [][]string{narrative, sayings, essay, openers, stepOpeners, tp.facts, tp.steps}
		for _, list := range lists {
			for _, tmpl := range list {
				for range 5 {
					s := w.render(tmpl)
					first, _ := firstLetter(s)
					last := s[len(s)-1]
					if strings.ContainsAny(s, "{}") || !unicode.IsUpper(first) || !strings.ContainsRune(".?!\"", rune(last)) {
						t.Fatalf("topic %d template %q rendered %q", ti, tmpl, s)
					}
				}
			}
		}
		for _, tmpl := range tp.titles {
			if s := titleCase(w.render(tmpl)); strings.ContainsAny(s, "{}") || !unicode.IsUpper(rune(s[0])) {
				t.Fatalf("title %q rendered %q", tmpl, s)
			}
		}
	}
}

func firstLetter(s string) (rune, bool) {
	for _, c := range s {
		if unicode.IsLetter(c) {
			return c, true
		}
	}
	return 0, false
}

func TestAgreement(t *testing.T) {
	tests := []struct{ in, want string }{
		{"apple tree", "an apple tree"},
		{"heavy hive", "a heavy hive"},
		{"old net", "an old net"},
		{"useful tool", "a useful tool"},
	}
	for _, tc := range tests {
		if got := withArticle(tc.in); got != tc.want {
			t.Errorf("withArticle(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A dialogue tag after a closing quote stays lower-case.
	if got := capitalizeSentences(`"is it?" asked Mara. "wait." then it rained? yes`); got != `"Is it?" asked Mara. "Wait." then it rained? Yes` {
		t.Errorf("capitalizeSentences = %q", got)
	}
	if got := titleCase("the hives at the north field"); got != "The Hives at the North Field" {
		t.Errorf("titleCase = %q", got)
	}
}
