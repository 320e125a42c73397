package data

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/data/bpe"
)

// LoadOptions says which tokens to load for training (the data.* settings).
type LoadOptions struct {
	Input     string // file, directory, glob or shard directory; "" = the embedded corpus
	Format    string // one of the Format constants; "" = FormatAuto
	TextField string // JSON field or column; "" = DefaultTextField
	// Tokenizer is "byte" or the path of a tokenizer.json. For shards, "" means the
	// tokenizer they were written with; any other value must match it.
	Tokenizer string
}

// Stream is a loaded, packed token stream and the tokenizer that produced it.
type Stream struct {
	Tokens    []int32   // the packed stream: every document, in order
	Tokenizer Tokenizer // every id in Tokens is below Tokenizer.VocabSize()
	Source    string    // the input path, or corpus.Name for the embedded corpus
	Documents int64     // documents (shard rows, for shards) that added tokens
	Manifest  *Manifest // the shard manifest, when read from shards; nil otherwise
}

// Load reads the input and returns its packed token stream: from shards (checked
// against their manifest) when the input is a shard directory, otherwise by
// reading the source and tokenizing it in memory.
func Load(opts LoadOptions) (*Stream, error) {
	if _, train, _ := parseTrainSpec(opts.Tokenizer); train {
		return nil, fmt.Errorf("data: tokenizer %q trains a new tokenizer; run `moetrain data prepare --tokenizer %s --out DIR` and train on DIR",
			opts.Tokenizer, opts.Tokenizer)
	}
	if opts.Input != "" {
		f, _ := DetectFormat(opts.Input)
		switch {
		case f == FormatShards && (opts.Format == "" || opts.Format == FormatAuto || opts.Format == FormatShards):
			return loadShardStream(opts)
		case opts.Format == FormatShards:
			return nil, fmt.Errorf("data %s: not a shard directory (no %s); write shards with `moetrain data prepare`",
				opts.Input, ManifestName)
		}
	}
	tok, err := LoadTokenizer(opts.Tokenizer)
	if err != nil {
		return nil, err
	}
	src, name, err := openInput(opts.Input, opts.Format, opts.TextField)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	s := &Stream{Tokenizer: tok, Source: name}
	s.Documents, err = encodeSource(src, tok, func(ids []int32) error {
		s.Tokens = append(s.Tokens, ids...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.Tokens) == 0 {
		return nil, fmt.Errorf("data: %s holds no text or tokens", name)
	}
	return s, src.Close()
}

func loadShardStream(opts LoadOptions) (*Stream, error) {
	m, tokens, err := LoadShards(opts.Input)
	if err != nil {
		return nil, err
	}
	tok, err := m.LoadTokenizer(opts.Input)
	if err != nil {
		return nil, err
	}
	if err := checkSameTokenizer(opts.Tokenizer, tok, opts.Input); err != nil {
		return nil, err
	}
	var rows int64
	for _, s := range m.Shards {
		rows += s.Rows
	}
	return &Stream{Tokens: tokens, Tokenizer: tok, Source: opts.Input, Documents: rows, Manifest: m}, nil
}

// checkSameTokenizer fails unless spec ("" accepts anything) names the tokenizer
// the shards in dir were written with.
func checkSameTokenizer(spec string, shardTok Tokenizer, dir string) error {
	if spec == "" {
		return nil
	}
	want := ByteTokenizerSpec
	if _, isBPE := shardTok.(*bpe.Tokenizer); isBPE {
		want = filepath.Join(dir, TokenizerFile)
	}
	mismatch := fmt.Errorf("data %s: the shards were written with tokenizer %s, not %q; set data.tokenizer to %q",
		dir, shardTok.Name(), spec, want)
	if spec == ByteTokenizerSpec {
		if _, isByte := shardTok.(ByteTokenizer); !isByte {
			return mismatch
		}
		return nil
	}
	given, err := LoadTokenizer(spec)
	if err != nil {
		return err
	}
	a, ok1 := given.(*bpe.Tokenizer)
	b, ok2 := shardTok.(*bpe.Tokenizer)
	if !ok1 || !ok2 {
		return mismatch
	}
	ja, err1 := a.MarshalJSON()
	jb, err2 := b.MarshalJSON()
	if err1 != nil || err2 != nil || !bytes.Equal(ja, jb) {
		return mismatch
	}
	return nil
}
