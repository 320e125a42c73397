package data

// Mutations tried on finetune_read.go, and the test that failed:
//   - detectFinetuneFormat checks text before prompt/completion: TestFinetuneDetectsFormat
//   - the input section dropped from AlpacaPrompt: TestAlpacaTemplate
//   - the utf8.Valid check of a JSONL line removed: TestFinetuneErrorsNameFileAndLine (invalid UTF-8)
//   - the line-length check in readLine removed: TestFinetuneErrorsNameFileAndLine (over-long line),
//     TestFinetuneLongLineIsRefusedEarly, TestFinetuneLineAtTheLimit
//   - the empty-completion check removed: TestFinetuneErrorsNameFileAndLine (empty completion)
//   - fr.line not advanced for a line ending in a newline: TestFinetuneDetectsFormat,
//     TestFinetuneErrorsNameFileAndLine (line numbers)
//   - a plain text file read as JSONL when it starts with a letter: TestFinetunePlainText

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// readRecords reads every record of path.
func readRecords(t *testing.T, path string, opts FinetuneReadOptions) ([]Record, string) {
	t.Helper()
	r, err := OpenFinetune(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return recs, r.Format()
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestFinetuneDetectsFormat(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, format string
		want                  []Record
	}{
		{"pc.jsonl", `{"prompt": "2+2=", "completion": "4", "text": "ignored"}` + "\n\n" + `{"completion": "b", "prompt": "a"}`,
			FinetunePromptCompletion, []Record{{"2+2=", "4", "pc.jsonl:1"}, {"a", "b", "pc.jsonl:3"}}},
		{"alpaca.jsonl", `{"instruction": "Add.", "input": "2 2", "output": "4"}`,
			FinetuneAlpaca, []Record{{AlpacaPrompt("Add.", "2 2"), "4", "alpaca.jsonl:1"}}},
		{"text.jsonl", `{"text": "hello"}` + "\n" + `{"text": "world", "id": 7}`,
			FinetuneText, []Record{{"", "hello", "text.jsonl:1"}, {"", "world", "text.jsonl:2"}}},
	} {
		path := writeFile(t, filepath.Join(dir, tc.name), tc.content)
		recs, format := readRecords(t, path, FinetuneReadOptions{})
		if format != tc.format {
			t.Errorf("%s: format %q, want %q", tc.name, format, tc.format)
		}
		if len(recs) != len(tc.want) {
			t.Fatalf("%s: %d records, want %d", tc.name, len(recs), len(tc.want))
		}
		for i, w := range tc.want {
			w.Origin = filepath.Join(dir, w.Origin)
			if recs[i] != w {
				t.Errorf("%s record %d = %+v, want %+v", tc.name, i, recs[i], w)
			}
		}
	}
}

func TestFinetuneExplicitFormat(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "both.jsonl"), `{"prompt": "p", "completion": "c", "text": "t"}`)
	recs, format := readRecords(t, path, FinetuneReadOptions{Format: FinetuneText})
	if format != FinetuneText || len(recs) != 1 || recs[0].Completion != "t" || recs[0].Prompt != "" {
		t.Fatalf("format text: %q %+v", format, recs)
	}
	if _, err := OpenFinetune(path, FinetuneReadOptions{Format: "chat"}); err == nil || !strings.Contains(err.Error(), `"chat"`) {
		t.Fatalf("unknown format: error %v", err)
	}
}

func TestAlpacaTemplate(t *testing.T) {
	if got, want := AlpacaPrompt("Sum the numbers.", "2 3"),
		"### Instruction:\nSum the numbers.\n\n### Input:\n2 3\n\n### Response:\n"; got != want {
		t.Errorf("with input: %q, want %q", got, want)
	}
	if got, want := AlpacaPrompt("Say hi.", ""), "### Instruction:\nSay hi.\n\n### Response:\n"; got != want {
		t.Errorf("without input: %q, want %q", got, want)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "a.jsonl"),
		`{"instruction": "Say hi.", "output": "hi"}`+"\n"+`{"instruction": "Say hi.", "input": null, "output": "hi"}`)
	recs, _ := readRecords(t, path, FinetuneReadOptions{})
	for _, r := range recs {
		if r.Prompt != "### Instruction:\nSay hi.\n\n### Response:\n" || r.Completion != "hi" {
			t.Errorf("%s: %+v", r.Origin, r)
		}
	}
}

func TestFinetunePlainText(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "notes.data"} {
		path := writeFile(t, filepath.Join(dir, name), "first line\n{ not json }\n")
		recs, format := readRecords(t, path, FinetuneReadOptions{})
		if format != FinetuneText || len(recs) != 1 || recs[0].Completion != "first line\n{ not json }\n" || recs[0].Prompt != "" {
			t.Errorf("%s: format %q records %+v", name, format, recs)
		}
	}
	path := writeFile(t, filepath.Join(dir, "plain.txt"), "x")
	if _, err := OpenFinetune(path, FinetuneReadOptions{Format: FinetuneAlpaca}); err == nil || !strings.Contains(err.Error(), "plain text") {
		t.Errorf("alpaca on a text file: error %v", err)
	}
}

func TestFinetuneErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	good := `{"prompt": "p", "completion": "c"}` + "\n"
	for _, tc := range []struct {
		name, content string
		opts          FinetuneReadOptions
		want          []string // substrings of the error
	}{
		{"missing.jsonl", good + "\n" + `{"prompt": "p", "answer": "c"}`, FinetuneReadOptions{},
			[]string{"missing.jsonl:3:", `no field "completion"`, "answer, prompt", "prompt and completion"}},
		{"number.jsonl", good + `{"prompt": 5, "completion": "c"}`, FinetuneReadOptions{},
			[]string{"number.jsonl:2:", `field "prompt" is a number, not a string`}},
		{"array.jsonl", `{"text": ["a"]}`, FinetuneReadOptions{}, []string{"array.jsonl:1:", `"text" is an array`}},
		{"empty.jsonl", good + good + `{"prompt": "p", "completion": ""}`, FinetuneReadOptions{},
			[]string{"empty.jsonl:3:", `field "completion" is empty`}},
		{"emptyout.jsonl", `{"instruction": "i", "output": ""}`, FinetuneReadOptions{},
			[]string{"emptyout.jsonl:1:", `field "output" is empty`}},
		{"noinstr.jsonl", `{"instruction": "i", "output": "o"}` + "\n" + `{"output": "o"}`, FinetuneReadOptions{},
			[]string{"noinstr.jsonl:2:", `no field "instruction"`}},
		{"utf8.jsonl", good + "{\"prompt\": \"p\", \"completion\": \"c\xff\"}", FinetuneReadOptions{},
			[]string{"utf8.jsonl:2:", "invalid UTF-8 at byte 33"}},
		{"utf8.txt", "ok\nok\nbad \xc3\x28\n", FinetuneReadOptions{}, []string{"utf8.txt:3:", "invalid UTF-8"}},
		{"long.jsonl", good + good + `{"prompt": "` + strings.Repeat("x", 200) + `", "completion": "c"}`,
			FinetuneReadOptions{MaxLineBytes: 100}, []string{"long.jsonl:3:", "longer than 100 bytes"}},
		{"notjson.jsonl", good + `{"prompt": "p",`, FinetuneReadOptions{}, []string{"notjson.jsonl:2:", "not a JSON object"}},
		{"array.json", `[{"prompt": "p", "completion": "c"}]`, FinetuneReadOptions{Format: FinetunePromptCompletion},
			[]string{"array.json:1:", "JSON array"}},
		{"unknown.jsonl", `{"question": "q", "answer": "a"}`, FinetuneReadOptions{},
			[]string{"unknown.jsonl:1:", "fields answer, question", "prompt and completion"}},
		{"blank.jsonl", "\n\n", FinetuneReadOptions{}, []string{"blank.jsonl: no records"}},
		{"blank.txt", " \n", FinetuneReadOptions{}, []string{"blank.txt: the file is empty"}},
	} {
		path := writeFile(t, filepath.Join(dir, tc.name), tc.content)
		err := readErr(path, tc.opts)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", tc.name, err, w)
			}
		}
		if strings.Count(err.Error(), "data ") != 1 {
			t.Errorf("%s: error %q repeats its prefix", tc.name, err)
		}
	}
}

// readErr reads path to the end and returns the first error other than io.EOF.
func readErr(path string, opts FinetuneReadOptions) error {
	r, err := OpenFinetune(path, opts)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestFinetuneLongLineIsRefusedEarly(t *testing.T) {
	// A line far longer than the limit is refused once the limit is passed:
	// the buffer never grows past the limit and one read buffer.
	path := writeFile(t, filepath.Join(t.TempDir(), "huge.jsonl"), `{"text": "`+strings.Repeat("y", 4<<20)+`"}`)
	r, err := OpenFinetune(path, FinetuneReadOptions{MaxLineBytes: 1000})
	if err == nil {
		r.Close()
		t.Fatal("a 4 MiB line was read with a 1000-byte limit")
	}
	if !strings.Contains(err.Error(), "huge.jsonl:1:") {
		t.Fatalf("error %v", err)
	}
	if _, err := OpenFinetune(path, FinetuneReadOptions{MaxLineBytes: -1}); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("negative limit: error %v", err)
	}
}

func TestFinetuneLineAtTheLimit(t *testing.T) {
	line := `{"text": "` + strings.Repeat("z", 88) + `"}` // 100 bytes
	path := writeFile(t, filepath.Join(t.TempDir(), "edge.jsonl"), line+"\r\n"+line)
	recs, _ := readRecords(t, path, FinetuneReadOptions{MaxLineBytes: 101})
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	if err := readErr(path, FinetuneReadOptions{MaxLineBytes: 99}); err == nil {
		t.Fatal("a 100-byte line passed a 99-byte limit")
	}
}
