package data

import (
	"fmt"
	"strings"

	"github.com/moetrain/moetrain/data/bpe"
)

// Tokenizer maps text to token ids and back. Implementations are safe for
// concurrent use.
type Tokenizer interface {
	// Encode returns the ids of text.
	Encode(text string) []int32
	// Decode returns the text of ids; ids outside the vocabulary decode to U+FFFD.
	Decode(ids []int32) string
	// VocabSize returns V: every id Encode returns is in [0, V).
	VocabSize() int
	// Name says which tokenizer this is, e.g. "byte" or "bpe-4096".
	Name() string
	// EndOfText returns the id that ends a document in fine-tuning data, or an
	// error saying what the tokenizer lacks. Encode never produces it from
	// valid UTF-8 text.
	EndOfText() (int32, error)
}

// ByteTokenizerSpec is the LoadTokenizer spec of the byte-level tokenizer.
const ByteTokenizerSpec = "byte"

// ByteEndOfText is the byte tokenizer's end-of-text id: byte 0xFF, which never
// occurs in valid UTF-8, so text encodes and decodes as before and the id marks
// nothing but the end of a document.
const ByteEndOfText int32 = 0xFF

// ByteTokenizer encodes each byte of UTF-8 text as its own id: id = byte value,
// V = 256. Its one special id, ByteEndOfText, is a byte valid UTF-8 never holds.
// The zero value is ready to use.
type ByteTokenizer struct{}

// Encode returns the bytes of text as ids.
func (ByteTokenizer) Encode(text string) []int32 {
	ids := make([]int32, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int32(text[i])
	}
	return ids
}

// Decode returns the bytes of ids as a string; ids outside [0, 256) decode to U+FFFD.
func (ByteTokenizer) Decode(ids []int32) string {
	var sb strings.Builder
	sb.Grow(len(ids))
	for _, id := range ids {
		if id >= 0 && id < 256 {
			sb.WriteByte(byte(id))
		} else {
			sb.WriteRune('\uFFFD')
		}
	}
	return sb.String()
}

// VocabSize returns 256.
func (ByteTokenizer) VocabSize() int { return 256 }

// Name returns "byte".
func (ByteTokenizer) Name() string { return ByteTokenizerSpec }

// EndOfText returns ByteEndOfText.
func (ByteTokenizer) EndOfText() (int32, error) { return ByteEndOfText, nil }

// LoadTokenizer returns the tokenizer a spec names: "byte" (or "") for
// ByteTokenizer, otherwise the path of a HuggingFace tokenizer.json holding a
// byte-level BPE model.
func LoadTokenizer(spec string) (Tokenizer, error) {
	if spec == "" || spec == ByteTokenizerSpec {
		return ByteTokenizer{}, nil
	}
	t, err := bpe.Load(spec)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w (give \"byte\" or the path of a byte-level BPE tokenizer.json)", spec, err)
	}
	return t, nil
}

// TrainBPE learns a byte-level BPE tokenizer of at most vocabSize tokens (at
// least 256) from texts. Save it with (*bpe.Tokenizer).Save.
func TrainBPE(texts []string, vocabSize int) (*bpe.Tokenizer, error) {
	return bpe.Train(texts, vocabSize)
}
