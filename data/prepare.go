package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moetrain/moetrain/data/bpe"
)

// PrepareOptions says what Prepare reads, how it tokenizes, and where it writes.
type PrepareOptions struct {
	Input       string // file, directory or glob (see OpenSource); "" = the embedded corpus
	Format      string // one of the Format constants; "" = FormatAuto
	TextField   string // JSON field or column; "" = DefaultTextField
	Tokenizer   string // "byte", the path of a tokenizer.json, or "bpe:N" to train an N-token BPE on the input first
	Out         string // directory for the shards, the manifest and tokenizer.json (created if missing)
	ShardTokens int    // most tokens per shard, at least MinShardTokens; 0 = DefaultShardTokens

	// Progress, if set, is called after each batch of documents with the totals so far.
	Progress func(documents, tokens int64)
}

// Prepare tokenizes the input once and writes it to opts.Out as packed token
// shards (Arrow IPC files with one list<int32> column, one row per document or
// piece of one), the tokenizer (tokenizer.json, for BPE) and manifest.json with
// the tokenizer, vocabulary size, per-shard token counts and SHA-256 checksums.
// Every file is written atomically and the manifest last, so a directory is
// either the old complete set or the new one; shards of an earlier run that the
// new manifest does not list are removed afterwards. With Tokenizer "bpe:N" the
// input is read twice: once to train the tokenizer, once to encode.
func Prepare(opts PrepareOptions) (*Manifest, error) {
	if opts.Out == "" {
		return nil, fmt.Errorf("data: prepare needs an output directory")
	}
	if opts.ShardTokens == 0 {
		opts.ShardTokens = DefaultShardTokens
	}
	if opts.ShardTokens < MinShardTokens {
		return nil, fmt.Errorf("data: --shard-tokens %d is too small: every shard is a file of its own; give at least %d (0 for the default %d)",
			opts.ShardTokens, MinShardTokens, DefaultShardTokens)
	}
	if opts.TextField == "" {
		opts.TextField = DefaultTextField
	}
	if opts.Input != "" && samePath(opts.Input, opts.Out) {
		return nil, fmt.Errorf("data: prepare would overwrite its input %s; choose another output directory", opts.Input)
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	tok, err := prepareTokenizer(opts)
	if err != nil {
		return nil, err
	}
	m := &Manifest{
		Version:       ManifestVersion,
		Tokenizer:     ByteTokenizerSpec,
		TokenizerName: tok.Name(),
		VocabSize:     tok.VocabSize(),
		Format:        opts.Format,
		TextField:     opts.TextField,
	}
	if m.Format == "" {
		m.Format = FormatAuto
	}
	if b, ok := tok.(*bpe.Tokenizer); ok {
		path := filepath.Join(opts.Out, TokenizerFile)
		if err := b.Save(path); err != nil {
			return nil, err
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		m.Tokenizer, m.TokenizerSHA256 = TokenizerFile, sha256Hex(saved)
	}

	src, name, err := openInput(opts.Input, opts.Format, opts.TextField)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m.Source = name
	sw := &shardWriter{dir: opts.Out, limit: opts.ShardTokens}
	m.Documents, err = encodeSource(src, tok, func(ids []int32) error {
		m.Tokens += int64(len(ids))
		if opts.Progress != nil {
			opts.Progress(m.Documents, m.Tokens)
		}
		return sw.add(ids)
	})
	if err != nil {
		return nil, err
	}
	if err := src.Close(); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if err := sw.flush(); err != nil {
		return nil, err
	}
	if m.Tokens == 0 {
		return nil, fmt.Errorf("data: %s holds no text or tokens", name)
	}
	m.Shards = sw.shards
	if err := m.write(opts.Out); err != nil {
		return nil, err
	}
	if err := removeStaleShards(opts.Out, m); err != nil {
		return nil, err
	}
	return m, nil
}

// prepareTokenizer loads the tokenizer spec, or trains the BPE that "bpe:N" asks for.
func prepareTokenizer(opts PrepareOptions) (Tokenizer, error) {
	n, train, err := parseTrainSpec(opts.Tokenizer)
	if err != nil {
		return nil, err
	}
	if !train {
		return LoadTokenizer(opts.Tokenizer)
	}
	src, name, err := openInput(opts.Input, opts.Format, opts.TextField)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	tr := bpe.NewTrainer()
	for {
		doc, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if doc.Tokens != nil {
			return nil, fmt.Errorf("data %s: input is already tokenized; a BPE can only be trained on text", doc.Origin)
		}
		tr.Add(terminated(doc.Text))
	}
	tok, err := tr.Train(n)
	if err != nil {
		return nil, fmt.Errorf("data: training a tokenizer on %s: %w", name, err)
	}
	return tok, nil
}

// removeStaleShards deletes shard files in dir that m does not list.
func removeStaleShards(dir string, m *Manifest) error {
	listed := make([]string, len(m.Shards))
	for i, s := range m.Shards {
		listed[i] = s.File
	}
	old, err := filepath.Glob(filepath.Join(dir, "shard-*.arrow"))
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	for _, p := range old {
		if !slices.Contains(listed, filepath.Base(p)) {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("data: removing stale shard: %w", err)
			}
		}
	}
	return nil
}

// samePath reports whether a and b name the same file or directory (or a lies in b).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return aa == bb || strings.HasPrefix(aa, bb+string(filepath.Separator))
}
