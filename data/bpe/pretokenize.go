package bpe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitWords calls emit with the consecutive pieces of s that GPT-2's
// pre-tokenizer pattern matches, in order; the pieces concatenate to s. The pattern
// (as used by HuggingFace's ByteLevel pre-tokenizer) is
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Go's regexp has no look-ahead, so the alternatives are matched by hand, first
// to last, exactly as a backtracking engine tries them. Bytes that are not valid
// UTF-8 count as "other" characters.
func splitWords(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		j := matchAt(s, i)
		emit(s[i:j])
		i = j
	}
}

// Character classes of the pattern.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

func classOf(r rune) int {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}

// classAt returns the class of the character starting at byte i and its width.
func classAt(s string, i int) (class, width int) {
	if s[i] < utf8.RuneSelf {
		r := rune(s[i])
		return classOf(r), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return classOther, 1
	}
	return classOf(r), w
}

var contractions = []string{"s", "t", "re", "ve", "m", "ll", "d"}

// matchAt returns the end of the piece that starts at byte i (i < len(s)).
func matchAt(s string, i int) int {
	if s[i] == '\'' {
		for _, c := range contractions {
			if strings.HasPrefix(s[i+1:], c) {
				return i + 1 + len(c)
			}
		}
	}
	class, w := classAt(s, i)
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		// " ?X+": a single leading space joins a following letter, number or other run.
		if next, nw := classAt(s, i+1); next != classSpace {
			class, w, start = next, nw, i+1
		}
	}
	if class != classSpace {
		j := start + w
		for j < len(s) {
			c, cw := classAt(s, j)
			if c != class {
				break
			}
			j += cw
		}
		return j
	}
	// A whitespace run [i, j).
	j, last := i, i
	for j < len(s) {
		c, cw := classAt(s, j)
		if c != classSpace {
			break
		}
		last = j
		j += cw
	}
	if j == len(s) || last == i {
		// \s+(?!\S) takes a run that ends the text; a single space before a
		// non-space falls through to \s+ and is taken alone.
		return j
	}
	// \s+(?!\S) backs off one character so the last space can lead the next word.
	return last
}
