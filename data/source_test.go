package data

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
)

var sampleTexts = []string{"first document\n", "second, with ünïcode", "", "third\nline two"}

// textsOf returns the texts of the non-empty documents.
func textsOf(docs []Document) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.Text)
	}
	return out
}

func TestSourcesReadTextEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var jsonl strings.Builder
	for _, s := range sampleTexts {
		jsonl.WriteString(`{"id": 1, "text": ` + jsonString(s) + "}\n\n")
	}
	tests := []struct {
		name, file, format string
		write              func(path string)
		want               []string
	}{
		{"text file", "a.txt", FormatAuto, func(p string) { writeFile(t, p, "whole file\nof text") }, []string{"whole file\nof text"}},
		{"markdown explicit", "a.md", FormatText, func(p string) { writeFile(t, p, "# title") }, []string{"# title"}},
		{"jsonl", "a.jsonl", FormatAuto, func(p string) { writeFile(t, p, jsonl.String()) }, sampleTexts},
		{"json as jsonl", "a.json", FormatAuto, func(p string) { writeFile(t, p, jsonl.String()) }, sampleTexts},
		{"arrow file", "a.arrow", FormatAuto, func(p string) {
			writeArrowFile(t, p, textRecord("text", sampleTexts[:2]), textRecord("text", sampleTexts[2:]))
		}, sampleTexts},
		{"arrow stream", "a.ipc", FormatAuto, func(p string) {
			writeArrowStream(t, p, textRecord("text", sampleTexts[:3]), textRecord("text", sampleTexts[3:]))
		}, sampleTexts},
		{"feather explicit", "a.feather", FormatArrow, func(p string) { writeArrowFile(t, p, textRecord("text", sampleTexts)) }, sampleTexts},
		{"parquet", "a.parquet", FormatAuto, func(p string) {
			writeParquet(t, p, textRecord("text", sampleTexts[:1]), textRecord("text", sampleTexts[1:]))
		}, sampleTexts},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.file)
		tc.write(path)
		src, err := OpenSource(path, SourceOptions{Format: tc.format})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := textsOf(readAll(t, src)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: read %q, want %q", tc.name, got, tc.want)
		}
	}
}

func jsonString(s string) string {
	b, _ := jsonMarshal(s)
	return string(b)
}

func TestSourcesReadTokensEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rows := [][]int32{{1, 2, 3}, {}, {40000, 5}, {7}}
	tests := []struct {
		name, file string
		write      func(path string)
		field      string
		want       [][]int32
	}{
		{"arrow list<int32>", "a.arrow", func(p string) {
			writeArrowFile(t, p, listRecord("tokens", arrow.PrimitiveTypes.Int32, rows[:2]), listRecord("tokens", arrow.PrimitiveTypes.Int32, rows[2:]))
		}, "", rows},
		{"arrow stream list<int64> input_ids", "b.arrow", func(p string) {
			writeArrowStream(t, p, listRecord("input_ids", arrow.PrimitiveTypes.Int64, rows))
		}, "", rows},
		{"arrow flat int32", "c.arrow", func(p string) {
			writeArrowFile(t, p, flatRecord("ids", []int32{5, 6, 7}), flatRecord("ids", []int32{8}))
		}, "ids", [][]int32{{5, 6, 7}, {8}}},
		{"parquet list<int32>", "d.parquet", func(p string) {
			writeParquet(t, p, listRecord("tokens", arrow.PrimitiveTypes.Int32, rows))
		}, "tokens", rows},
		{"parquet list<uint16> custom field", "e.parquet", func(p string) {
			writeParquet(t, p, listRecord("toks", arrow.PrimitiveTypes.Uint16, rows))
		}, "toks", rows},
		{"jsonl arrays", "f.jsonl", func(p string) {
			writeFile(t, p, "{\"ids\": [1, 2, 3]}\n{\"ids\": []}\n{\"ids\": [40000, 5]}\n{\"ids\": [7]}")
		}, "ids", rows},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, tc.file)
		tc.write(path)
		src, err := OpenSource(path, SourceOptions{TextField: tc.field})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		docs := readAll(t, src)
		if len(docs) != len(tc.want) {
			t.Fatalf("%s: %d documents, want %d", tc.name, len(docs), len(tc.want))
		}
		for i, d := range docs {
			if d.Tokens == nil || !slices.Equal(d.Tokens, tc.want[i]) || d.Text != "" {
				t.Errorf("%s: document %d = %v %q, want tokens %v", tc.name, i, d.Tokens, d.Text, tc.want[i])
			}
		}
	}
}

func TestDirectoryAndGlobSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.txt"), "B")
	writeFile(t, filepath.Join(dir, "a.md"), "A")
	writeFile(t, filepath.Join(dir, "sub", "c.go"), "package c")
	writeFile(t, filepath.Join(dir, "sub", "d.jsonl"), `{"text": "D"}`)
	writeFile(t, filepath.Join(dir, "notes.bin"), "skipped: unknown extension")
	writeFile(t, filepath.Join(dir, ".git", "e.txt"), "skipped: hidden directory")
	src, err := OpenSource(dir, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := textsOf(readAll(t, src)), []string{"A", "B", "package c", "D"}; !slices.Equal(got, want) {
		t.Fatalf("directory read %q, want %q", got, want)
	}
	src, err = OpenSource(filepath.Join(dir, "*.txt"), SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := textsOf(readAll(t, src)); !slices.Equal(got, []string{"B"}) {
		t.Fatalf("glob read %q", got)
	}
}

func TestSourceErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, filepath.Join(dir, "bad.jsonl"), "{\"text\": \"ok\"}\n\nnot json at all\n")
	noField := writeFile(t, filepath.Join(dir, "nofield.jsonl"), "{\"body\": \"x\", \"title\": \"y\"}\n")
	badIDs := writeFile(t, filepath.Join(dir, "ids.jsonl"), "{\"text\": [1, -2]}\n")
	weird := writeFile(t, filepath.Join(dir, "data.xyz"), "?")
	arrowPath := filepath.Join(dir, "cols.arrow")
	writeArrowFile(t, arrowPath, textRecord("body", []string{"x"}))
	tests := []struct {
		name, path string
		opts       SourceOptions
		want       []string
	}{
		{"jsonl line not JSON", bad, SourceOptions{}, []string{"bad.jsonl:3", "not a JSON object"}},
		{"jsonl missing field", noField, SourceOptions{}, []string{"nofield.jsonl:1", `no field "text"`, "body, title"}},
		{"jsonl negative id", badIDs, SourceOptions{}, []string{"ids.jsonl:1", "out of range"}},
		{"unknown extension", weird, SourceOptions{}, []string{"data.xyz", "extension"}},
		{"unknown format", weird, SourceOptions{Format: "csv"}, []string{`unknown format "csv"`}},
		{"arrow missing column", arrowPath, SourceOptions{TextField: "content"}, []string{`no column "content"`, "id, body"}},
		{"missing file", filepath.Join(dir, "nope.txt"), SourceOptions{}, []string{"nope.txt"}},
		{"shards without manifest", dir, SourceOptions{Format: FormatShards}, []string{"manifest.json"}},
	}
	for _, tc := range tests {
		err := drain(tc.path, tc.opts)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}

// drain opens and reads a source to the end, returning the first error.
func drain(path string, opts SourceOptions) error {
	src, err := OpenSource(path, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		_, err := src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{"a.txt": FormatText, "a.MD": FormatText, "x.go": FormatText, "a.jsonl": FormatJSONL,
		"a.json": FormatJSONL, "a.parquet": FormatParquet, "a.arrow": FormatArrow, "a.ipc": FormatArrow, "a.feather": FormatArrow}
	for name, want := range tests {
		p := writeFile(t, filepath.Join(dir, name), "")
		if got, err := DetectFormat(p); err != nil || got != want {
			t.Errorf("DetectFormat(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	writeFile(t, filepath.Join(dir, "shards", ManifestName), "{}")
	if got, _ := DetectFormat(filepath.Join(dir, "shards")); got != FormatShards {
		t.Errorf("directory with manifest detected as %q", got)
	}
}
