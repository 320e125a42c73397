package bpe

import "unicode/utf8"

// The byte-level alphabet: every byte value has a printable stand-in rune, so a
// token's bytes can be written as a visible string in tokenizer.json. Bytes that
// are printable Latin-1 characters stand for themselves; the others (controls,
// space, DEL, NBSP, soft hyphen) take the runes from U+0100 upward in byte order.
// Space (0x20) is therefore written 'Ġ' (U+0120), as in GPT-2's files.
var (
	byteToRune [256]rune
	runeToByte = make(map[rune]byte, 256)
)

func init() {
	next := rune(256)
	for b := 0; b < 256; b++ {
		if printableLatin1(b) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// printableLatin1 reports whether byte b stands for itself: '!'..'~', '¡'..'¬', '®'..'ÿ'.
func printableLatin1(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// toByteLevel writes raw bytes in the byte-level alphabet.
func toByteLevel(raw []byte) string {
	out := make([]byte, 0, 2*len(raw))
	for _, b := range raw {
		out = utf8.AppendRune(out, byteToRune[b])
	}
	return string(out)
}

// fromByteLevel turns a byte-level string back into raw bytes. ok is false if s
// holds a rune outside the alphabet.
func fromByteLevel(s string) (raw []byte, ok bool) {
	raw = make([]byte, 0, len(s))
	for _, r := range s {
		b, found := runeToByte[r]
		if !found {
			return nil, false
		}
		raw = append(raw, b)
	}
	return raw, true
}
