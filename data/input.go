package data

import (
	"fmt"
	"io"
	"strings"

	"github.com/moetrain/moetrain/data/corpus"
)

// openInput opens the documents to read: the embedded corpus when input is "",
// otherwise OpenSource. It returns the source and a name for manifests and logs.
func openInput(input, format, field string) (Source, string, error) {
	if input == "" {
		if format != "" && format != FormatAuto && format != FormatText {
			return nil, "", fmt.Errorf("data: format %q needs an input path; the embedded corpus is plain text", format)
		}
		text := corpus.Default()
		return &batchSource{fill: onceDocs(Document{Text: text, Origin: corpus.Name})}, corpus.Name, nil
	}
	src, err := OpenSource(input, SourceOptions{Format: format, TextField: field})
	if err != nil {
		return nil, "", err
	}
	return src, input, nil
}

// onceDocs returns a batchSource fill that yields docs once.
func onceDocs(docs ...Document) func() ([]Document, error) {
	return func() ([]Document, error) {
		d := docs
		docs = nil
		if d == nil {
			return nil, io.EOF
		}
		return d, nil
	}
}

// parseTrainSpec reads "bpe:N", the tokenizer spec that asks Prepare to train a
// BPE of N tokens. ok is false for other specs.
func parseTrainSpec(spec string) (n int, ok bool, err error) {
	rest, found := strings.CutPrefix(spec, "bpe:")
	if !found {
		return 0, false, nil
	}
	if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || n < 256 || fmt.Sprint(n) != rest {
		return 0, true, fmt.Errorf("data: tokenizer %q: want bpe:N with N >= 256, e.g. bpe:4096", spec)
	}
	return n, true, nil
}
