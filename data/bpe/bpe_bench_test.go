package bpe

import (
	"testing"

	"github.com/moetrain/moetrain/data/internal/testcorpus"
)

func benchText(b *testing.B) string {
	return string(testcorpus.Read(b, shakespearePath))
}

func BenchmarkTrain(b *testing.B) {
	text := benchText(b)
	for _, v := range []int{1024, 4096} {
		b.Run(itoa(v), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := Train([]string{text}, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	text := benchText(b)
	tok, err := Train([]string{text}, 4096)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tok.cacheMu.Lock()
			clear(tok.cache)
			tok.cacheMu.Unlock()
			tok.Encode(text)
		}
	})
	b.Run("warm", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			tok.Encode(text)
		}
	})
}
