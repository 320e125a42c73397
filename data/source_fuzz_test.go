package data

// Mutations caught: removing guardArrow from the Arrow or Parquet readers
// makes FuzzArrowFile, FuzzArrowStream and FuzzParquetSource report panics on
// damaged seeds; removing checkIPCFile makes the fields-claim seed of
// FuzzArrowFile die of memory; removing the tokens-per-byte bound in
// Manifest.validate makes the 2^62 seed of FuzzShardManifest panic in make;
// dropping the BOM strip makes the BOM seed of FuzzJSONLSource fail.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// fuzzSource writes data to a file named name in a fresh directory and drains
// it in format: any error must name the file; nothing may panic.
func fuzzSource(t *testing.T, name, format string, data []byte) {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := drain(p, SourceOptions{Format: format}); err != nil && !strings.Contains(err.Error(), p) {
		t.Fatalf("error %q does not name the file %s", err, p)
	}
}

// fuzzRecords are the records the Arrow and Parquet seeds hold.
func fuzzRecords() []arrow.Record {
	return []arrow.Record{
		textRecord("text", []string{"hello", "world", ""}),
		textRecord("text", []string{"again"}),
	}
}

func arrowFileBytes(f *testing.F, recs []arrow.Record) []byte {
	p := filepath.Join(f.TempDir(), "seed.arrow")
	out, err := os.Create(p)
	if err != nil {
		f.Fatal(err)
	}
	defer out.Close()
	w, err := ipc.NewFileWriter(out, ipc.WithSchema(recs[0].Schema()))
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func arrowStreamBytes(f *testing.F, recs []arrow.Record) []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(recs[0].Schema()))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// damaged returns copies of b with the byte at each of a few positions set to v.
func damaged(b []byte, v byte, at ...int) [][]byte {
	var out [][]byte
	for _, i := range at {
		if i >= 0 && i < len(b) {
			d := bytes.Clone(b)
			d[i] = v
			out = append(out, d)
		}
	}
	return out
}

func FuzzArrowFile(f *testing.F) {
	good := arrowFileBytes(f, fuzzRecords())
	f.Add(good)
	n := len(good)
	for _, d := range damaged(good, 0x00, n-11, n-20, n-60, n-100, n-150, n-194) {
		f.Add(d)
	}
	for _, d := range damaged(good, 0xFF, n-10, n-40, n-80, n-191, 12, 40) {
		f.Add(d)
	}
	claim := bytes.Clone(good)
	footer := claim[n-10-int(binary.LittleEndian.Uint32(claim[n-10:])) : n-10]
	root, _ := fbRoot(footer)
	schema, present, ok := root.sub(footerSchema)
	at, _ := schema.field(schemaFields)
	if !ok || !present || at == 0 {
		f.Fatal("the seed's footer holds no schema fields")
	}
	off, _ := fbU32(footer, at)
	binary.LittleEndian.PutUint32(footer[at+off:], 0xFFFFFFF0) // 4 billion fields
	f.Add(claim)
	f.Add(good[:n-1])
	f.Add([]byte("ARROW1\x00\x00ARROW1"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSource(t, "f.arrow", FormatArrow, data) })
}

func FuzzArrowStream(f *testing.F) {
	good := arrowStreamBytes(f, fuzzRecords())
	f.Add(good)
	for _, d := range damaged(good, 0xFF, 4, 7, 8, 20, 60, 120, len(good)-12) {
		f.Add(d)
	}
	for _, d := range damaged(good, 0x7F, 7, 100) {
		f.Add(d)
	}
	f.Add(good[:len(good)/2])
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0x7F})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSource(t, "s.arrows", FormatArrow, data) })
}

func FuzzParquetSource(f *testing.F) {
	recs := fuzzRecords()
	tbl := array.NewTableFromRecords(recs[0].Schema(), recs)
	defer tbl.Release()
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(tbl, &buf, 2, nil, pqarrow.DefaultWriterProps()); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	n := len(good)
	for _, d := range damaged(good, 0xFF, 4, 10, 30, n-9, n-20, n-60, n-120) {
		f.Add(d)
	}
	for _, d := range damaged(good, 0x00, n-5, n-8, 8) {
		f.Add(d)
	}
	f.Add(good[:n-8])
	f.Add([]byte("PAR1\xff\xff\xff\x7fPAR1"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSource(t, "p.parquet", FormatParquet, data) })
}

func FuzzJSONLSource(f *testing.F) {
	for _, s := range []string{
		"{\"text\": \"hello\"}\n{\"text\": \"world\"}\n",
		"\xEF\xBB\xBF{\"text\": \"bom\"}\n",
		"{\"text\": [1, 2, 3]}\n{\"text\": null}\n\n",
		"{\"text\": [-1]}\n",
		"{\"text\": [4294967296]}\n",
		"{\"text\": \"caf\xE9\"}\n",
		"[{\"text\": \"array\"}]\n",
		"{\"other\": 1}\n",
		"{\"text\": \"no newline\"}",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "j.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := OpenSource(p, SourceOptions{Format: FormatJSONL})
		if err != nil {
			t.Fatal(err) // opening never reads
		}
		defer src.Close()
		for {
			doc, err := src.Next()
			if err != nil {
				if err.Error() != "EOF" && !strings.Contains(err.Error(), p+":") {
					t.Fatalf("error %q does not name the file and line", err)
				}
				return
			}
			for _, id := range doc.Tokens {
				if id < 0 {
					t.Fatalf("%s: negative id %d", doc.Origin, id)
				}
			}
		}
	})
}

func FuzzShardManifest(f *testing.F) {
	dir := f.TempDir()
	input := filepath.Join(dir, "docs.jsonl")
	var sb strings.Builder
	for i := range 30 {
		line, _ := json.Marshal(map[string]string{"text": strings.Repeat("token ", i%5+1)})
		sb.Write(line)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(input, []byte(sb.String()), 0o644); err != nil {
		f.Fatal(err)
	}
	shards := filepath.Join(dir, "shards")
	m, err := Prepare(PrepareOptions{Input: input, Out: shards, ShardTokens: MinShardTokens})
	if err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(shards, ManifestName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	claim := *m
	claim.Shards = append([]ShardInfo(nil), m.Shards...)
	claim.Tokens += 1<<62 - claim.Shards[0].Tokens
	claim.Shards[0].Tokens = 1 << 62
	b, _ := json.Marshal(&claim)
	f.Add(b)
	claim.Shards[0].Bytes = 1 << 62
	claim.Tokens += 1<<60 - 1<<62
	claim.Shards[0].Tokens = 1 << 60
	b, _ = json.Marshal(&claim)
	f.Add(b)
	f.Add(bytes.Replace(good, []byte(`"shard-00000.arrow"`), []byte(`"../docs.jsonl"`), 1))
	f.Add(bytes.Replace(good, []byte(`"version": 1`), []byte(`"version": 2`), 1))
	f.Add([]byte(`{"version": 1, "tokenizer": "byte", "vocab_size": 256, "shards": []}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each input gets a copy of the shard directory with its manifest replaced.
		d := t.TempDir()
		for _, s := range m.Shards {
			b, err := os.ReadFile(filepath.Join(shards, s.File))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, s.File), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, ManifestName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, tokens, err := LoadShards(d)
		if err != nil {
			if !strings.Contains(err.Error(), d) {
				t.Fatalf("error %q does not name the directory %s", err, d)
			}
			return
		}
		if int64(len(tokens)) != got.Tokens {
			t.Fatalf("loaded %d tokens, manifest says %d", len(tokens), got.Tokens)
		}
		for _, id := range tokens {
			if id < 0 || int(id) >= got.VocabSize {
				t.Fatalf("id %d outside the vocabulary of %d", id, got.VocabSize)
			}
		}
	})
}
