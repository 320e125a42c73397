package data

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// convertUTF8Hint ends every error about text that is not valid UTF-8.
const convertUTF8Hint = "convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"

// openTextSource reads a whole file as one document. The text must be valid
// UTF-8, as in every other source (JSONL, Arrow, Parquet) and in fine-tuning
// data: invalid bytes are an error naming the line, never silently replaced.
func openTextSource(path string) (Source, error) {
	b, err := readRegular(path, 0)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		at := invalidUTF8At(b)
		line := 1 + bytes.Count(b[:at], []byte{'\n'})
		return nil, fmt.Errorf("data %s:%d: invalid UTF-8 at byte %d of the file; %s", path, line, at+1, convertUTF8Hint)
	}
	return &batchSource{fill: onceDocs(Document{Text: string(b), Origin: path})}, nil
}
