package prose

import (
	"strings"
	"testing"
)

func TestGenerateIsDeterministicAndSized(t *testing.T) {
	a := Generate(7, 20000)
	b := Generate(7, 20000)
	if a != b {
		t.Fatal("same seed gave different text")
	}
	if len(a) < 20000 || len(a) > 40000 {
		t.Fatalf("%d bytes for size 20000", len(a))
	}
	if Generate(8, 20000) == a {
		t.Fatal("different seeds gave the same text")
	}
}

func TestEveryTemplateRenders(t *testing.T) {
	for _, tp := range topics {
		w := &writer{r: nil, t: tp}
		_ = w
	}
	text := Generate(3, 200000)
	if strings.Contains(text, "{") || strings.Contains(text, "}") {
		i := strings.IndexAny(text, "{}")
		t.Fatalf("unfilled slot near %q", text[max(0, i-40):min(len(text), i+40)])
	}
}
