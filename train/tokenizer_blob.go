package train

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/data"
	"github.com/moetrain/moetrain/data/bpe"
)

// TokenizerBlob names the copy of a run's tokenizer.json that every
// checkpoint of a BPE run holds, checksummed in its manifest.
const TokenizerBlob = "tokenizer.json"

// tokenizerBlobs returns the files a checkpoint of c stores beside its
// tensors: the tokenizer.json data.tokenizer names (nil for the byte
// tokenizer), so that the checkpoint keeps working when that file moves or
// changes.
func tokenizerBlobs(c *configs.Config) (map[string][]byte, error) {
	spec := c.Data.Tokenizer
	if spec == "" || spec == data.ByteTokenizerSpec {
		return nil, nil
	}
	b, err := bpe.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("data.tokenizer %s: %w", spec, err)
	}
	return map[string][]byte{TokenizerBlob: b}, nil
}

// useStoredTokenizer points c at the tokenizer stored in the checkpoint in
// stepDir when it has one and the file data.tokenizer names is missing or
// differs from it: the stored copy is the one the model was trained with.
// A stored copy that fails its checksum is an error.
func useStoredTokenizer(c *configs.Config, stepDir string) error {
	stored, ok, err := checkpoint.ReadBlob(stepDir, TokenizerBlob)
	if err != nil || !ok {
		return err
	}
	if cur, err := bpe.ReadFile(c.Data.Tokenizer); err == nil && bytes.Equal(cur, stored) {
		return nil
	}
	c.Data.Tokenizer = filepath.Join(stepDir, TokenizerBlob)
	return nil
}
