package bpe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/moetrain/moetrain/data/internal/atomicfile"
	"github.com/moetrain/moetrain/data/internal/regfile"
)

// The HuggingFace tokenizers file layout, as far as a byte-level BPE needs it.
type fileJSON struct {
	Version       string          `json:"version"`
	Truncation    json.RawMessage `json:"truncation"`
	Padding       json.RawMessage `json:"padding"`
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         modelJSON       `json:"model"`
}

type modelJSON struct {
	Type                    string            `json:"type"`
	Dropout                 *float64          `json:"dropout"`
	UnkToken                *string           `json:"unk_token"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	Vocab                   orderedVocab      `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
}

// byteLevelJSON is the ByteLevel pre-tokenizer / decoder / post-processor object.
type byteLevelJSON struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       *bool  `json:"use_regex,omitempty"`
}

// orderedVocab is the vocab object; it marshals in id order, as HuggingFace writes it.
type orderedVocab map[string]int32

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(v[a]) - int(v[b]) })
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := marshalNoEscape(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		fmt.Fprintf(&buf, ":%d", v[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// MarshalJSON writes the tokenizer in HuggingFace's tokenizer.json format:
// model.type "BPE" with vocab and merges ("left right" strings), a ByteLevel
// pre-tokenizer (GPT-2 pattern) and a ByteLevel decoder.
func (t *Tokenizer) MarshalJSON() ([]byte, error) {
	useRegex := true
	pre, _ := json.Marshal(byteLevelJSON{Type: "ByteLevel", AddPrefixSpace: t.addPrefixSpace, TrimOffsets: true, UseRegex: &useRegex})
	dec, _ := json.Marshal(byteLevelJSON{Type: "ByteLevel", AddPrefixSpace: true, TrimOffsets: true, UseRegex: &useRegex})
	merges := make([]json.RawMessage, len(t.merges))
	for i, m := range t.merges {
		b, err := marshalNoEscape(t.tokens[m.left] + " " + t.tokens[m.right])
		if err != nil {
			return nil, err
		}
		merges[i] = b
	}
	added := t.added
	if added == nil {
		added = []AddedToken{}
	}
	null := json.RawMessage("null")
	f := fileJSON{
		Version:       "1.0",
		Truncation:    null,
		Padding:       null,
		AddedTokens:   added,
		Normalizer:    null,
		PreTokenizer:  pre,
		PostProcessor: null,
		Decoder:       dec,
		Model: modelJSON{
			Type:         "BPE",
			IgnoreMerges: t.ignoreMerges,
			Vocab:        orderedVocab(t.vocab),
			Merges:       merges,
		},
	}
	return marshalNoEscape(f)
}

// Save writes the tokenizer.json file atomically.
func (t *Tokenizer) Save(path string) error {
	b, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("bpe: save %s: %w", path, err)
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bpe: save: %w", err)
	}
	return nil
}

// MaxFileBytes is the largest tokenizer.json Load reads (a 256K-token
// vocabulary with its merges takes about 20 MiB).
const MaxFileBytes = 256 << 20

// ReadFile returns the bytes of a tokenizer.json file without parsing them,
// with Load's checks: a regular file of at most MaxFileBytes.
func ReadFile(path string) ([]byte, error) {
	b, err := regfile.ReadFile(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("bpe: %w", err)
	}
	return b, nil
}

// Load reads a tokenizer.json file (see Parse). It refuses a path that is not a
// regular file (a device or pipe would be read without end) and a file over
// MaxFileBytes.
func Load(path string) (*Tokenizer, error) {
	b, err := regfile.ReadFile(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("bpe: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("bpe: %s: %w", path, err)
	}
	return t, nil
}

// Parse reads HuggingFace tokenizer.json content. It accepts byte-level BPE
// models: model.type "BPE", no normalizer, a ByteLevel pre-tokenizer using the
// GPT-2 pattern, a ByteLevel (or no) decoder, no dropout and no subword
// prefix/suffix. Merges may be "left right" strings or ["left", "right"] pairs.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	m := f.Model
	if m.Type != "BPE" {
		return nil, fmt.Errorf("model.type is %q; only \"BPE\" is supported", m.Type)
	}
	if !isNull(f.Normalizer) {
		return nil, fmt.Errorf("a normalizer is set (%s); byte-level BPE files have none", f.Normalizer)
	}
	pre, err := byteLevel("pre_tokenizer", f.PreTokenizer, false)
	if err != nil {
		return nil, err
	}
	if pre.UseRegex != nil && !*pre.UseRegex {
		return nil, fmt.Errorf("pre_tokenizer ByteLevel has use_regex false; only the GPT-2 pattern is supported")
	}
	if _, err := byteLevel("decoder", f.Decoder, true); err != nil {
		return nil, err
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("model.dropout %g is not supported", *m.Dropout)
	}
	if (m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") ||
		(m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return nil, fmt.Errorf("model sets a subword prefix or suffix; byte-level BPE has none")
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		if merges[i], err = parseMerge(raw); err != nil {
			return nil, fmt.Errorf("merge %d: %w", i, err)
		}
	}
	t, err := newTokenizer(m.Vocab, merges, f.AddedTokens)
	if err != nil {
		return nil, err
	}
	t.addPrefixSpace = pre.AddPrefixSpace
	t.ignoreMerges = m.IgnoreMerges
	return t, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// byteLevel decodes a component that must be of type ByteLevel (or null, if allowed).
func byteLevel(name string, raw json.RawMessage, nullOK bool) (byteLevelJSON, error) {
	var bl byteLevelJSON
	if isNull(raw) {
		if nullOK {
			return bl, nil
		}
		return bl, fmt.Errorf("%s is missing; byte-level BPE needs a ByteLevel %s", name, name)
	}
	if err := json.Unmarshal(raw, &bl); err != nil {
		return bl, fmt.Errorf("%s: %w", name, err)
	}
	if bl.Type != "ByteLevel" {
		return bl, fmt.Errorf("%s type is %q; only ByteLevel is supported", name, bl.Type)
	}
	return bl, nil
}

// parseMerge reads "left right" or ["left", "right"].
func parseMerge(raw json.RawMessage) ([2]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		l, r, ok := bytes.Cut([]byte(s), []byte(" "))
		if !ok || len(l) == 0 || len(r) == 0 || bytes.Contains(r, []byte(" ")) {
			return [2]string{}, fmt.Errorf("%q is not two tokens separated by one space", s)
		}
		return [2]string{string(l), string(r)}, nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return [2]string{}, fmt.Errorf("%s is neither \"left right\" nor [\"left\", \"right\"]", raw)
	}
	return [2]string{pair[0], pair[1]}, nil
}
