package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// utf8BOM is the byte order mark some editors write at the start of a UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// jsonlBatch is how many lines one fill decodes.
const jsonlBatch = 256

// openJSONLSource reads one JSON object per line; blank lines are skipped. The
// field holds a string (text) or an array of integers (ids). A UTF-8 byte order
// mark before the first line is skipped. Every line must be valid UTF-8, as
// text files must: invalid bytes are an error naming the line (JSON decoding
// would otherwise turn them into U+FFFD unseen).
func openJSONLSource(path, field string) (Source, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	line := 0
	fill := func() ([]Document, error) {
		var docs []Document
		for len(docs) < jsonlBatch {
			b, err := r.ReadBytes('\n')
			if len(b) == 0 && err == io.EOF {
				return docs, io.EOF
			}
			if err != nil && err != io.EOF {
				return nil, fmt.Errorf("data %s:%d: %w", path, line+1, err)
			}
			line++
			if line == 1 {
				b = bytes.TrimPrefix(b, utf8BOM)
			}
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				continue
			}
			if !utf8.Valid(b) {
				return nil, fmt.Errorf("data %s:%d: invalid UTF-8 at byte %d of the line; %s", path, line, invalidUTF8At(b)+1, convertUTF8Hint)
			}
			doc, derr := jsonlDocument(b, field)
			if derr != nil {
				return nil, fmt.Errorf("data %s:%d: %w", path, line, derr)
			}
			doc.Origin = fmt.Sprintf("%s:%d", path, line)
			docs = append(docs, doc)
		}
		return docs, nil
	}
	return &batchSource{fill: fill, closeFn: f.Close}, nil
}

func jsonlDocument(line []byte, field string) (Document, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		if line[0] == '[' && field != "" {
			return Document{}, fmt.Errorf("a JSON array, not an object per line; JSON arrays are not read, convert the file to JSONL")
		}
		return Document{}, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := obj[field]
	if !ok {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return Document{}, fmt.Errorf("no field %q (fields: %s); set data.text_field", field, strings.Join(keys, ", "))
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		return Document{Text: text}, nil
	}
	var ids []int64
	if err := json.Unmarshal(raw, &ids); err == nil {
		out, err := toInt32(ids)
		if err != nil {
			return Document{}, fmt.Errorf("field %q: %w", field, err)
		}
		return Document{Tokens: out}, nil
	}
	if bytes.Equal(raw, []byte("null")) {
		return Document{}, nil
	}
	return Document{}, fmt.Errorf("field %q is neither a string nor an array of token ids", field)
}

// toInt32 narrows ids, which must lie in [0, 2^31).
func toInt32(ids []int64) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, v := range ids {
		if v < 0 || v > 1<<31-1 {
			return nil, fmt.Errorf("token id %d at %d is out of range", v, i)
		}
		out[i] = int32(v)
	}
	return out, nil
}
