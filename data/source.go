package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Data formats, the values of SourceOptions.Format (and of data.format).
const (
	FormatAuto    = "auto"    // chosen from the extension, or "shards" for a directory with manifest.json
	FormatText    = "text"    // plain text: each file is one document
	FormatJSONL   = "jsonl"   // one JSON object per line, text (or ids) in TextField
	FormatParquet = "parquet" // Parquet, a string column TextField or a list<int> column of ids
	FormatArrow   = "arrow"   // Arrow IPC, file or stream format, columns as for Parquet
	FormatShards  = "shards"  // a directory of token shards written by Prepare
)

// DefaultTextField is the JSON field or column read when SourceOptions.TextField is empty.
const DefaultTextField = "text"

// Document is one unit a source yields: text to tokenize, or, from a
// pre-tokenized source, token ids.
type Document struct {
	Text   string  // the text (empty when Tokens is set)
	Tokens []int32 // ids of a pre-tokenized document; nil for text
	Origin string  // where it came from, for messages: "file.jsonl:12", "file.parquet row 7"
}

// Source yields documents in a fixed order. Next returns io.EOF after the last one.
type Source interface {
	Next() (Document, error)
	Close() error
}

// SourceOptions says how to read a path.
type SourceOptions struct {
	Format    string // one of the Format constants; "" means FormatAuto
	TextField string // JSON field or column holding text or ids; "" means DefaultTextField
}

func (o SourceOptions) withDefaults() SourceOptions {
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if o.TextField == "" {
		o.TextField = DefaultTextField
	}
	return o
}

// extFormats maps file extensions to formats for FormatAuto.
var extFormats = map[string]string{
	".txt": FormatText, ".text": FormatText, ".md": FormatText, ".go": FormatText,
	".jsonl": FormatJSONL, ".json": FormatJSONL, ".ndjson": FormatJSONL,
	".parquet": FormatParquet, ".pq": FormatParquet,
	".arrow": FormatArrow, ".ipc": FormatArrow, ".feather": FormatArrow, ".arrows": FormatArrow,
}

// DetectFormat returns the format FormatAuto picks for path: "shards" for a
// directory holding manifest.json, otherwise by extension (.txt .text .md .go ->
// text; .jsonl .json .ndjson -> jsonl; .parquet .pq -> parquet; .arrow .ipc
// .feather .arrows -> arrow). A plain directory has no single format; it returns
// "" and no error for one, and an error for an unknown extension.
func DetectFormat(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("data %s: %w", path, err)
	}
	if info.IsDir() {
		if _, err := os.Stat(filepath.Join(path, ManifestName)); err == nil {
			return FormatShards, nil
		}
		return "", nil
	}
	if f, ok := extFormats[strings.ToLower(filepath.Ext(path))]; ok {
		return f, nil
	}
	return "", fmt.Errorf("data %s: cannot tell the format from the extension %q (known: %s); %s",
		path, filepath.Ext(path), knownExtensions(), setFormatHint)
}

// setFormatHint says how to name the format of a file whose extension does not tell it.
const setFormatHint = "set the format: --set data.format=text for pretrain, --format text for eval and data prepare; " +
	"the formats are text, jsonl, parquet and arrow"

// OpenSource opens path for reading documents. path is a file, a directory or a
// glob pattern. A directory with manifest.json is read as shards; any other
// directory (and a glob) is read file by file in lexical order, walking
// subdirectories and skipping hidden ones: with FormatAuto each file by its
// extension (files of other extensions are skipped), with an explicit format
// every file in that format.
func OpenSource(path string, opts SourceOptions) (Source, error) {
	opts = opts.withDefaults()
	if !validFormat(opts.Format) {
		return nil, fmt.Errorf("data %s: unknown format %q (want auto, text, jsonl, parquet, arrow or shards)", path, opts.Format)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(path, "*?[") {
		return openGlob(path, opts)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("data %s: not a regular file or directory (a device, pipe or socket would be read without end); "+
			"give a file, a directory or a glob", path)
	}
	if info.IsDir() {
		detected, err := DetectFormat(path)
		if err != nil {
			return nil, err
		}
		if detected == FormatShards && (opts.Format == FormatAuto || opts.Format == FormatShards) {
			return openShardSource(path)
		}
		if opts.Format == FormatShards {
			return nil, fmt.Errorf("data %s: no %s here; write shards with `moetrain data prepare`", path, ManifestName)
		}
		if err := refuseUnindexedShards(path); err != nil {
			return nil, err
		}
		files, err := listFiles(path, opts.Format)
		if err != nil {
			return nil, err
		}
		return &multiSource{files: files, opts: opts}, nil
	}
	format := opts.Format
	if format == FormatAuto {
		if format, err = DetectFormat(path); err != nil {
			return nil, err
		}
	}
	return openFile(path, format, opts.TextField)
}

func validFormat(f string) bool {
	switch f {
	case FormatAuto, FormatText, FormatJSONL, FormatParquet, FormatArrow, FormatShards:
		return true
	}
	return false
}

// openFile opens one file in a known format.
func openFile(path, format, field string) (Source, error) {
	switch format {
	case FormatText:
		return openTextSource(path)
	case FormatJSONL:
		return openJSONLSource(path, field)
	case FormatParquet:
		return openParquetSource(path, field)
	case FormatArrow:
		return openArrowSource(path, field)
	case FormatShards:
		return nil, fmt.Errorf("data %s: shards are a directory with %s, not a file", path, ManifestName)
	}
	return nil, fmt.Errorf("data %s: unknown format %q", path, format)
}

// sourceFile is a file of a multi-file source with the format to read it in.
type sourceFile struct{ path, format string }

// listFiles walks dir in lexical order.
func listFiles(dir, format string) ([]sourceFile, error) {
	var files []sourceFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := p != dir && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden {
				return filepath.SkipDir
			}
			return nil
		}
		if hidden || !d.Type().IsRegular() {
			return nil
		}
		if f, ok := fileFormat(p, format); ok {
			files = append(files, sourceFile{p, f})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data %s: no readable files (known extensions: %s)", dir, knownExtensions())
	}
	return files, nil
}

func fileFormat(path, format string) (string, bool) {
	if format != FormatAuto {
		return format, true
	}
	f, ok := extFormats[strings.ToLower(filepath.Ext(path))]
	return f, ok
}

func knownExtensions() string {
	exts := make([]string, 0, len(extFormats))
	for e := range extFormats {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return strings.Join(exts, " ")
}

func openGlob(pattern string, opts SourceOptions) (Source, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", pattern, err)
	}
	var files []sourceFile
	for _, m := range matches {
		info, err := os.Stat(m)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		f, ok := fileFormat(m, opts.Format)
		if !ok {
			return nil, fmt.Errorf("data %s: cannot tell the format of %s from its extension (known: %s); %s",
				pattern, m, knownExtensions(), setFormatHint)
		}
		files = append(files, sourceFile{m, f})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data %s: the pattern matches no files", pattern)
	}
	return &multiSource{files: files, opts: opts}, nil
}

// multiSource reads files one after another.
type multiSource struct {
	files []sourceFile
	opts  SourceOptions
	next  int
	cur   Source
}

func (m *multiSource) Next() (Document, error) {
	for {
		if m.cur == nil {
			if m.next == len(m.files) {
				return Document{}, io.EOF
			}
			f := m.files[m.next]
			m.next++
			src, err := openFile(f.path, f.format, m.opts.TextField)
			if err != nil {
				return Document{}, err
			}
			m.cur = src
		}
		doc, err := m.cur.Next()
		if err == io.EOF {
			err = m.cur.Close()
			m.cur = nil
			if err != nil {
				return Document{}, err
			}
			continue
		}
		return doc, err
	}
}

func (m *multiSource) Close() error {
	if m.cur == nil {
		return nil
	}
	err := m.cur.Close()
	m.cur = nil
	return err
}

// batchSource yields the documents of batches that fill returns; fill returns
// io.EOF after the last batch.
type batchSource struct {
	fill    func() ([]Document, error)
	closeFn func() error
	batch   []Document
	pos     int
	done    bool
}

func (b *batchSource) Next() (Document, error) {
	for b.pos == len(b.batch) {
		if b.done {
			return Document{}, io.EOF
		}
		batch, err := b.fill()
		if err == io.EOF {
			b.done = true
		} else if err != nil {
			return Document{}, err
		}
		b.batch, b.pos = batch, 0
	}
	d := b.batch[b.pos]
	b.batch[b.pos] = Document{}
	b.pos++
	return d, nil
}

func (b *batchSource) Close() error {
	if b.closeFn == nil {
		return nil
	}
	err := b.closeFn()
	b.closeFn = nil
	return err
}

// refuseUnindexedShards fails when dir holds shard files but no manifest: read
// as plain Arrow files they would skip every check the manifest makes
// (checksums, token counts, vocabulary), so say so instead.
func refuseUnindexedShards(dir string) error {
	shards, err := filepath.Glob(filepath.Join(dir, "shard-*.arrow"))
	if err != nil || len(shards) == 0 {
		return nil
	}
	return fmt.Errorf("data %s: holds shard files (%d, from %s) but no %s, so they cannot be checked; "+
		"re-run `moetrain data prepare` to rewrite the directory, or pass the glob %s to read them as plain Arrow files without checks",
		dir, len(shards), filepath.Base(shards[0]), ManifestName, filepath.Join(dir, "*.arrow"))
}
