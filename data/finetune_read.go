package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Fine-tuning formats, the values of FinetuneReadOptions.Format.
const (
	FinetuneAuto             = "auto"              // chosen from the first record's fields (see OpenFinetune)
	FinetunePromptCompletion = "prompt_completion" // JSONL {"prompt": ..., "completion": ...}: loss on the completion only
	FinetuneAlpaca           = "alpaca"            // JSONL {"instruction", "input" (optional), "output"}: loss on the output only
	FinetuneText             = "text"              // JSONL {"text": ...} or a plain text file: every token trained
)

// DefaultMaxLineBytes is the longest JSONL line a fine-tuning reader accepts
// when FinetuneReadOptions.MaxLineBytes is 0.
const DefaultMaxLineBytes = 4 << 20

// FinetuneReadOptions says how to read a fine-tuning file.
type FinetuneReadOptions struct {
	Format       string // one of the Finetune format constants; "" means FinetuneAuto
	MaxLineBytes int    // longest JSONL line accepted; 0 means DefaultMaxLineBytes
}

// Record is one fine-tuning example: the prompt is context the loss ignores,
// the completion is what the model learns to write. A plain text record has an
// empty prompt.
type Record struct {
	Prompt     string
	Completion string
	Origin     string // where it came from, for messages: "file.jsonl:12"
}

// FinetuneReader yields the records of one fine-tuning file in order. It holds
// one line (at most MaxLineBytes) at a time. It is not safe for concurrent use.
type FinetuneReader struct {
	path    string
	format  string
	f       *os.File
	r       *bufio.Reader
	maxLine int
	line    int     // lines read so far
	pending *Record // the first record, read to detect the format
	plain   bool    // a plain text file: one record, then io.EOF
	text    *string // a plain text file's contents until Next yields it
	buf     []byte
}

// OpenFinetune opens path for reading fine-tuning records. A file ending in
// .txt, .text, .md or .go, or of another extension than .jsonl, .json and
// .ndjson whose first non-blank byte is neither '{' nor '[', is plain text: the
// whole file is one record, every token trained. Otherwise it is JSONL,
// one object per line (blank lines skipped), and with FinetuneAuto the first
// record's fields choose the format: prompt and completion make
// prompt_completion, instruction and output make alpaca, text makes text.
// Every later record must have the fields of that format; other fields are
// ignored.
func OpenFinetune(path string, opts FinetuneReadOptions) (*FinetuneReader, error) {
	format := opts.Format
	if format == "" {
		format = FinetuneAuto
	}
	switch format {
	case FinetuneAuto, FinetunePromptCompletion, FinetuneAlpaca, FinetuneText:
	default:
		return nil, fmt.Errorf("data %s: unknown fine-tuning format %q (want auto, %s, %s or %s)",
			path, format, FinetunePromptCompletion, FinetuneAlpaca, FinetuneText)
	}
	maxLine := opts.MaxLineBytes
	if maxLine == 0 {
		maxLine = DefaultMaxLineBytes
	}
	if maxLine < 0 {
		return nil, fmt.Errorf("data %s: maximum line length %d, want a positive number of bytes (0 for the default %d)",
			path, maxLine, DefaultMaxLineBytes)
	}
	f, _, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	fr := &FinetuneReader{path: path, format: format, f: f, r: bufio.NewReaderSize(f, 1<<16), maxLine: maxLine}
	if head, _ := fr.r.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		fr.r.Discard(len(utf8BOM)) // a byte order mark is not text
	}
	plain, err := fr.isPlainText()
	if err != nil {
		f.Close()
		return nil, err
	}
	if plain {
		err = fr.readPlainText()
	} else {
		err = fr.readFirstRecord()
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return fr, nil
}

// isPlainText tells plain text from JSONL by the extension (the extensions
// OpenSource reads as text or JSONL), else by the first non-blank byte.
func (fr *FinetuneReader) isPlainText() (bool, error) {
	switch extFormats[strings.ToLower(filepath.Ext(fr.path))] {
	case FormatText:
		return true, nil
	case FormatJSONL:
		return false, nil
	}
	for n := 1; ; n++ {
		b, err := fr.r.Peek(n)
		if len(b) < n {
			if err == io.EOF || err == bufio.ErrBufferFull {
				return false, nil // empty or all blank: JSONL, and readFirstRecord reports it
			}
			return false, fmt.Errorf("data %s: %w", fr.path, err)
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b[n-1] != '{' && b[n-1] != '[', nil
	}
}

// readPlainText takes the whole file as one text record.
func (fr *FinetuneReader) readPlainText() error {
	if fr.format != FinetuneAuto && fr.format != FinetuneText {
		return fmt.Errorf("data %s: a plain text file, but format %s reads JSONL; give a .jsonl file of %s records or format text",
			fr.path, fr.format, fr.format)
	}
	fr.format, fr.plain = FinetuneText, true
	b, err := io.ReadAll(fr.r)
	if err != nil {
		return fmt.Errorf("data %s: %w", fr.path, err)
	}
	if !utf8.Valid(b) {
		line := 1 + bytes.Count(b[:invalidUTF8At(b)], []byte{'\n'})
		return fmt.Errorf("data %s:%d: invalid UTF-8; convert the file to UTF-8", fr.path, line)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("data %s: the file is empty; give text to train on", fr.path)
	}
	s := string(b)
	fr.text = &s
	return nil
}

// invalidUTF8At returns the offset of the first byte of b that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// readFirstRecord reads the first record, choosing the format if it is auto.
func (fr *FinetuneReader) readFirstRecord() error {
	obj, err := fr.nextObject()
	if err == io.EOF {
		return fmt.Errorf("data %s: no records; give one JSON object per line", fr.path)
	}
	if err != nil {
		return err
	}
	if fr.format == FinetuneAuto {
		if fr.format = detectFinetuneFormat(obj); fr.format == "" {
			return fmt.Errorf("data %s:%d: cannot tell the fine-tuning format from the fields %s; "+
				"give prompt and completion, instruction and output (input optional), or text",
				fr.path, fr.line, fieldNames(obj))
		}
	}
	rec, err := fr.record(obj)
	if err != nil {
		return err
	}
	fr.pending = &rec
	return nil
}

// detectFinetuneFormat returns the format obj's fields name, or "".
func detectFinetuneFormat(obj map[string]json.RawMessage) string {
	has := func(k string) bool { _, ok := obj[k]; return ok }
	switch {
	case has("prompt") && has("completion"):
		return FinetunePromptCompletion
	case has("instruction") && has("output"):
		return FinetuneAlpaca
	case has("text"):
		return FinetuneText
	}
	return ""
}

// Format returns the format being read: prompt_completion, alpaca or text.
func (fr *FinetuneReader) Format() string { return fr.format }

// Next returns the next record; io.EOF after the last one.
func (fr *FinetuneReader) Next() (Record, error) {
	if fr.text != nil {
		rec := Record{Completion: *fr.text, Origin: fr.path}
		fr.text = nil
		return rec, nil
	}
	if fr.pending != nil {
		rec := *fr.pending
		fr.pending = nil
		return rec, nil
	}
	if fr.plain {
		return Record{}, io.EOF
	}
	obj, err := fr.nextObject()
	if err != nil {
		return Record{}, err
	}
	return fr.record(obj)
}

// Close closes the file.
func (fr *FinetuneReader) Close() error {
	if fr.f == nil {
		return nil
	}
	err := fr.f.Close()
	fr.f = nil
	return err
}

// nextObject reads the next non-blank line as a JSON object; io.EOF at the end.
func (fr *FinetuneReader) nextObject() (map[string]json.RawMessage, error) {
	for {
		b, err := fr.readLine()
		if err != nil {
			return nil, err
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return nil, fr.errorf("invalid UTF-8 at byte %d of the line; convert the file to UTF-8", invalidUTF8At(b)+1)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
			if b[0] == '[' {
				return nil, fr.errorf("a JSON array, not an object per line; convert the file to JSONL")
			}
			if err == nil {
				err = errors.New("null")
			}
			return nil, fr.errorf("not a JSON object: %v", err)
		}
		return obj, nil
	}
}

// readLine returns the next line without its newline, refusing lines longer
// than maxLine bytes; io.EOF when no line is left. The slice is valid until the
// next call.
func (fr *FinetuneReader) readLine() ([]byte, error) {
	fr.buf = fr.buf[:0]
	for {
		chunk, err := fr.r.ReadSlice('\n')
		length := len(fr.buf) + len(bytes.TrimSuffix(chunk, []byte{'\n'}))
		if length > fr.maxLine {
			fr.line++
			return nil, fr.errorf("the line is longer than %d bytes; split the record or raise the maximum line length", fr.maxLine)
		}
		fr.buf = append(fr.buf, chunk...)
		switch {
		case err == nil:
			fr.line++
			return bytes.TrimSuffix(fr.buf, []byte{'\n'}), nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(fr.buf) == 0 {
				return nil, io.EOF
			}
			fr.line++
			return fr.buf, nil
		default:
			return nil, fmt.Errorf("data %s:%d: %w", fr.path, fr.line+1, err)
		}
	}
}

// record reads obj's fields for the format.
func (fr *FinetuneReader) record(obj map[string]json.RawMessage) (Record, error) {
	rec := Record{Origin: fmt.Sprintf("%s:%d", fr.path, fr.line)}
	var err error
	switch fr.format {
	case FinetunePromptCompletion:
		if rec.Prompt, err = fr.field(obj, "prompt", true); err != nil {
			return Record{}, err
		}
		rec.Completion, err = fr.field(obj, "completion", true)
	case FinetuneAlpaca:
		var instruction, input string
		if instruction, err = fr.field(obj, "instruction", true); err != nil {
			return Record{}, err
		}
		if _, ok := obj["input"]; ok {
			if input, err = fr.field(obj, "input", false); err != nil {
				return Record{}, err
			}
		}
		if rec.Completion, err = fr.field(obj, "output", true); err != nil {
			return Record{}, err
		}
		rec.Prompt = AlpacaPrompt(instruction, input)
	case FinetuneText:
		rec.Completion, err = fr.field(obj, "text", true)
	}
	if err != nil {
		return Record{}, err
	}
	if rec.Completion == "" {
		return Record{}, fr.errorf("the %s is empty; every record needs text to train on", completionField(fr.format))
	}
	return rec, nil
}

// field returns obj[key] as a string; null counts as absent.
func (fr *FinetuneReader) field(obj map[string]json.RawMessage, key string, required bool) (string, error) {
	raw, ok := obj[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		if !required {
			return "", nil
		}
		return "", fr.errorf("no field %q (fields: %s); every %s record needs %s", key, fieldNames(obj), fr.format, formatFields(fr.format))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fr.errorf("field %q is %s, not a string; give it as a JSON string", key, jsonKind(raw))
	}
	return s, nil
}

func (fr *FinetuneReader) errorf(format string, args ...any) error {
	return fmt.Errorf("data %s:%d: %s", fr.path, fr.line, fmt.Sprintf(format, args...))
}

// completionField names the trained field of a format.
func completionField(format string) string {
	switch format {
	case FinetunePromptCompletion:
		return `field "completion"`
	case FinetuneAlpaca:
		return `field "output"`
	}
	return `field "text"`
}

// formatFields names the fields a format needs.
func formatFields(format string) string {
	switch format {
	case FinetunePromptCompletion:
		return "prompt and completion"
	case FinetuneAlpaca:
		return "instruction and output (input optional)"
	}
	return "text"
}

func fieldNames(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// jsonKind names the JSON type of raw for messages.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}
