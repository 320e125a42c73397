package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moetrain/moetrain/data/corpus"
)

func BenchmarkByteEncode(b *testing.B) {
	text := corpus.Default()
	var tok ByteTokenizer
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkSamplerNext(b *testing.B) {
	for _, bt := range []struct {
		name string
		B, T int
	}{{"B8xT128", 8, 128}, {"B32xT512", 32, 512}} {
		b.Run(bt.name, func(b *testing.B) {
			d, err := NewDataset(seqTokens(1<<22), DatasetOptions{SeqLen: bt.T, ValFraction: 0.05})
			if err != nil {
				b.Fatal(err)
			}
			s := d.NewSampler(1)
			in, tg := make([]int32, bt.B*bt.T), make([]int32, bt.B*bt.T)
			b.SetBytes(int64(8 * bt.B * bt.T))
			for b.Loop() {
				s.Fill(in, tg)
			}
		})
	}
}

func BenchmarkLoadShards(b *testing.B) {
	dir := b.TempDir()
	m, err := Prepare(PrepareOptions{Out: dir, ShardTokens: 1 << 17})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 * m.Tokens)
	for b.Loop() {
		if _, _, err := LoadShards(dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepareBPE(b *testing.B) {
	dir := b.TempDir()
	tokPath := filepath.Join(dir, "tokenizer.json")
	tok, err := TrainBPE([]string{corpus.Default()}, 1024)
	if err != nil {
		b.Fatal(err)
	}
	if err := tok.Save(tokPath); err != nil {
		b.Fatal(err)
	}
	input := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(input, []byte(corpus.Default()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(corpus.Default())))
	for b.Loop() {
		if _, err := Prepare(PrepareOptions{Input: input, Tokenizer: tokPath, Out: filepath.Join(dir, "out")}); err != nil {
			b.Fatal(err)
		}
	}
}
