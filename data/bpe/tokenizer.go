package bpe

import (
	"fmt"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Tokenizer is a byte-level BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	tokens []string         // id -> byte-level token text; "" for ids not in use
	raw    [][]byte         // id -> the bytes the token stands for; nil for ids not in use
	vocab  map[string]int32 // byte-level token text -> id (model vocabulary only)
	byteID [256]int32       // id of each single-byte token

	merges []merge           // in rank order
	ranks  map[uint64]merged // (left id, right id) -> rank and result

	added          []AddedToken // extra tokens listed outside the model (kept for saving; never produced by Encode)
	addPrefixSpace bool         // ByteLevel add_prefix_space: prepend a space unless the text starts with whitespace
	ignoreMerges   bool         // BPE ignore_merges: a word that is itself in the vocabulary is one token

	cacheMu sync.Mutex
	cache   map[string][]int32 // word -> ids, bounded by cacheLimit
}

// AddedToken is an entry of tokenizer.json's added_tokens (special tokens such as
// an end-of-text marker). Decode renders it; Encode never produces it.
type AddedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type merge struct{ left, right, result int32 }

type merged struct{ rank, result int32 }

// maxIDSlack is how far ids may run past twice the number of entries: an id
// table never holds more than 2*entries + maxIDSlack slots.
const maxIDSlack = 256

// The word cache holds at most cacheLimit words of at most maxCachedWord bytes.
const (
	cacheLimit    = 1 << 17
	maxCachedWord = 256
)

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newTokenizer builds a tokenizer from a vocabulary (byte-level text -> id) and
// merges given as pairs of token texts in rank order. It checks that every byte
// has a token and that each merge's parts and result are in the vocabulary.
func newTokenizer(vocab map[string]int32, mergeTexts [][2]string, added []AddedToken) (*Tokenizer, error) {
	maxID := int32(-1)
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	for _, a := range added {
		if a.ID < 0 {
			return nil, fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		maxID = max(maxID, a.ID)
	}
	// The id table is sized by the largest id: bound it by the entries that
	// back it (with room for a few unused ids), so a single id near 2^31
	// cannot claim gigabytes.
	if entries := int64(len(vocab) + len(added)); int64(maxID) >= maxIDSlack+2*entries {
		return nil, fmt.Errorf("id %d is far beyond the %d vocabulary and added-token entries (at most %d allowed); "+
			"ids must number the entries from 0", maxID, entries, maxIDSlack+2*entries-1)
	}
	t := &Tokenizer{
		tokens: make([]string, maxID+1),
		raw:    make([][]byte, maxID+1),
		vocab:  vocab,
		ranks:  make(map[uint64]merged, len(mergeTexts)),
		added:  added,
		cache:  make(map[string][]int32),
	}
	for tok, id := range vocab {
		if t.raw[id] != nil {
			return nil, fmt.Errorf("id %d is given to both %q and %q", id, t.tokens[id], tok)
		}
		raw, ok := fromByteLevel(tok)
		if !ok || len(raw) == 0 {
			return nil, fmt.Errorf("token %q (id %d) is not in the byte-level alphabet", tok, id)
		}
		t.tokens[id], t.raw[id] = tok, raw
	}
	for b := 0; b < 256; b++ {
		id, ok := vocab[string(byteToRune[b])]
		if !ok {
			return nil, fmt.Errorf("vocabulary has no token for byte 0x%02x (%q)", b, byteToRune[b])
		}
		t.byteID[b] = id
	}
	for _, a := range added {
		if _, inVocab := vocab[a.Content]; inVocab || t.raw[a.ID] != nil {
			continue // already a model token; the entry only marks it special
		}
		t.tokens[a.ID], t.raw[a.ID] = a.Content, []byte(a.Content)
	}
	for r, m := range mergeTexts {
		left, okL := vocab[m[0]]
		right, okR := vocab[m[1]]
		result, okM := vocab[m[0]+m[1]]
		if !okL || !okR || !okM {
			return nil, fmt.Errorf("merge %d (%q %q): a part or the result is not in the vocabulary", r, m[0], m[1])
		}
		key := pairKey(left, right)
		if _, dup := t.ranks[key]; dup {
			continue // a later duplicate never applies: the earlier rank wins
		}
		t.ranks[key] = merged{rank: int32(r), result: result}
		t.merges = append(t.merges, merge{left, right, result})
	}
	return t, nil
}

// VocabSize returns V, one more than the largest id (model and added tokens).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Name returns "bpe-V", e.g. "bpe-4096".
func (t *Tokenizer) Name() string { return fmt.Sprintf("bpe-%d", t.VocabSize()) }

// NumMerges returns the number of merge rules.
func (t *Tokenizer) NumMerges() int { return len(t.merges) }

// Token returns the byte-level text of id (as written in tokenizer.json), or ""
// if id is not in use.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Encode splits text into words with the GPT-2 pattern and encodes each word by
// applying merges in rank order. It never produces added (special) tokens.
func (t *Tokenizer) Encode(text string) []int32 {
	if t.addPrefixSpace && text != "" {
		if r, _ := utf8.DecodeRuneInString(text); !unicode.IsSpace(r) {
			text = " " + text
		}
	}
	out := make([]int32, 0, len(text)/3+1)
	splitWords(text, func(word string) { out = t.appendWord(out, word) })
	return out
}

// appendWord appends the ids of one pre-tokenized word.
func (t *Tokenizer) appendWord(out []int32, word string) []int32 {
	if len(word) == 1 {
		return append(out, t.byteID[word[0]])
	}
	t.cacheMu.Lock()
	ids, ok := t.cache[word]
	t.cacheMu.Unlock()
	if ok {
		return append(out, ids...)
	}
	ids = t.encodeWord(word)
	if len(word) > maxCachedWord {
		return append(out, ids...)
	}
	t.cacheMu.Lock()
	if len(t.cache) >= cacheLimit {
		clear(t.cache)
	}
	t.cache[word] = ids
	t.cacheMu.Unlock()
	return append(out, ids...)
}

// encodeWord returns the ids of one pre-tokenized word: its bytes, merged.
func (t *Tokenizer) encodeWord(word string) []int32 {
	if t.ignoreMerges {
		if id, ok := t.vocab[toByteLevel([]byte(word))]; ok {
			return []int32{id}
		}
	}
	syms := make([]int32, len(word))
	for i := 0; i < len(word); i++ {
		syms[i] = t.byteID[word[i]]
	}
	if len(syms) >= longWord {
		return t.mergeWordQueued(syms)
	}
	return t.mergeWordRescan(syms)
}

// mergeWordRescan merges syms in place: while some adjacent pair has a merge, the
// pair of lowest rank is merged everywhere, left to right. It is the plain form of
// the algorithm, used for short words and as the reference for mergeWordQueued.
func (t *Tokenizer) mergeWordRescan(syms []int32) []int32 {
	for len(syms) > 1 {
		best := merged{rank: -1}
		var bestLeft, bestRight int32
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.ranks[pairKey(syms[i], syms[i+1])]; ok && (best.rank < 0 || m.rank < best.rank) {
				best, bestLeft, bestRight = m, syms[i], syms[i+1]
			}
		}
		if best.rank < 0 {
			break
		}
		w := 0
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == bestLeft && syms[i+1] == bestRight {
				syms[w] = best.result
				i++
			} else {
				syms[w] = syms[i]
			}
			w++
		}
		syms = syms[:w]
	}
	return syms
}

// Decode concatenates the bytes of the tokens. Ids outside the vocabulary decode
// to U+FFFD. The result is invalid UTF-8 where the ids split a character.
func (t *Tokenizer) Decode(ids []int32) string {
	out := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.raw) && t.raw[id] != nil {
			out = append(out, t.raw[id]...)
		} else {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
	}
	return string(out)
}
