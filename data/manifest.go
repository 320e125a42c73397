package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strings"

	"github.com/moetrain/moetrain/data/bpe"
	"github.com/moetrain/moetrain/data/internal/atomicfile"
)

// Shard directory layout.
const (
	ManifestName    = "manifest.json"  // the directory's index, written last
	ManifestVersion = 1                // the layout version this package writes and reads
	TokenizerFile   = "tokenizer.json" // the BPE tokenizer, copied in when one is used
	ShardColumn     = "tokens"         // the list<int32> column of every shard
)

// Manifest describes a directory of token shards written by Prepare. The token
// stream is the rows of the shards, in order, concatenated.
type Manifest struct {
	Version         int         `json:"version"`
	Tokenizer       string      `json:"tokenizer"`                  // "byte", or TokenizerFile (relative to the directory)
	TokenizerName   string      `json:"tokenizer_name"`             // Tokenizer.Name()
	TokenizerSHA256 string      `json:"tokenizer_sha256,omitempty"` // of TokenizerFile, when there is one
	VocabSize       int         `json:"vocab_size"`                 // V: every id is in [0, V)
	Source          string      `json:"source"`                     // the input that was prepared
	Format          string      `json:"format"`                     // the format it was read in
	TextField       string      `json:"text_field,omitempty"`       // the field or column read
	Documents       int64       `json:"documents"`                  // documents packed
	Tokens          int64       `json:"tokens"`                     // total tokens, the sum over shards
	Shards          []ShardInfo `json:"shards"`
}

// ShardInfo describes one shard file: an Arrow IPC file with one list<int32>
// column named ShardColumn.
type ShardInfo struct {
	File   string `json:"file"`   // name within the directory
	Tokens int64  `json:"tokens"` // ids in the shard
	Rows   int64  `json:"rows"`   // rows (document pieces) in the shard
	Bytes  int64  `json:"bytes"`  // file size
	SHA256 string `json:"sha256"` // hex SHA-256 of the file
}

// maxManifestBytes bounds manifest.json (one of MaxShards shards takes about 200 bytes).
const maxManifestBytes = 64 << 20

// rerunHint ends every error about a damaged shard directory.
const rerunHint = "re-run `moetrain data prepare` to rewrite the shards"

// ReadManifest reads and validates dir/manifest.json: version, vocabulary size,
// shard names, and that the shard token counts add up.
func ReadManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, ManifestName)
	b, err := readRegular(path, maxManifestBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data %s: no %s; write shards with `moetrain data prepare`", dir, ManifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("%w; %s", err, rerunHint)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("data %s: %w; %s", path, err, rerunHint)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("data %s: %w; %s", path, err, rerunHint)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version != ManifestVersion {
		return fmt.Errorf("version %d, want %d", m.Version, ManifestVersion)
	}
	if m.VocabSize <= 0 {
		return fmt.Errorf("vocab_size %d", m.VocabSize)
	}
	if m.Tokenizer != ByteTokenizerSpec && m.Tokenizer != TokenizerFile {
		return fmt.Errorf("tokenizer %q, want %q or %q", m.Tokenizer, ByteTokenizerSpec, TokenizerFile)
	}
	if len(m.Shards) == 0 {
		return errors.New("no shards")
	}
	if len(m.Shards) > MaxShards {
		return fmt.Errorf("%d shards, more than the %d a directory may hold", len(m.Shards), MaxShards)
	}
	var sum int64
	seen := map[string]bool{}
	for i, s := range m.Shards {
		if s.File == "" || s.File != filepath.Base(s.File) || strings.HasPrefix(s.File, ".") || seen[s.File] {
			return fmt.Errorf("shard %d has a bad file name %q", i, s.File)
		}
		seen[s.File] = true
		if s.Tokens < 0 || s.Rows < 0 || s.Bytes <= 0 || len(s.SHA256) != 64 {
			return fmt.Errorf("shard %s has bad sizes or checksum", s.File)
		}
		// Every token is an int32 and every row an int32 offset in the file.
		if s.Tokens > s.Bytes/4 || s.Rows > s.Bytes/4 {
			return fmt.Errorf("shard %s claims %d tokens in %d rows, more than its %d bytes can hold", s.File, s.Tokens, s.Rows, s.Bytes)
		}
		if sum > math.MaxInt64-s.Tokens {
			return fmt.Errorf("shard %s: the token counts overflow", s.File)
		}
		sum += s.Tokens
	}
	if sum != m.Tokens {
		return fmt.Errorf("shards hold %d tokens but the manifest says %d", sum, m.Tokens)
	}
	return nil
}

// write stores the manifest atomically.
func (m *Manifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("data: manifest: %w", err)
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ManifestName), append(b, '\n'), 0o644)
}

// LoadTokenizer returns the tokenizer the shards were written with; for BPE it
// checks the copy in dir against the manifest's checksum and vocabulary size.
func (m *Manifest) LoadTokenizer(dir string) (Tokenizer, error) {
	if m.Tokenizer == ByteTokenizerSpec {
		return ByteTokenizer{}, nil
	}
	path := filepath.Join(dir, m.Tokenizer)
	b, err := readRegular(path, bpe.MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("%w; %s", err, rerunHint)
	}
	if sum := sha256Hex(b); sum != m.TokenizerSHA256 {
		return nil, fmt.Errorf("data %s: checksum %s, manifest says %s; %s", path, sum, m.TokenizerSHA256, rerunHint)
	}
	tok, err := bpe.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	if tok.VocabSize() != m.VocabSize {
		return nil, fmt.Errorf("data %s: vocabulary %d, manifest says %d; %s", path, tok.VocabSize(), m.VocabSize, rerunHint)
	}
	return tok, nil
}
