package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/moetrain/moetrain/data/internal/atomicfile"
)

// DefaultShardTokens is the most tokens Prepare puts in one shard (64 MiB of int32).
const DefaultShardTokens = 1 << 24

// MinShardTokens is the smallest PrepareOptions.ShardTokens: every shard is a
// file written and fsynced on its own, so tiny shards cost a file per handful
// of tokens.
const MinShardTokens = 256

// MaxShards is the most shards one directory may hold; Prepare stops with an
// error saying to raise the shard size before writing more.
const MaxShards = 100_000

var shardSchema = arrow.NewSchema([]arrow.Field{
	{Name: ShardColumn, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
}, nil)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func shardName(i int) string { return fmt.Sprintf("shard-%05d.arrow", i) }

// shardWriter packs rows of ids into shard files of at most limit tokens.
type shardWriter struct {
	dir    string
	limit  int
	rows   [][]int32
	tokens int
	shards []ShardInfo
}

// add appends one document's ids, splitting it across shards where it does not fit.
func (w *shardWriter) add(ids []int32) error {
	for len(ids) > 0 {
		n := min(len(ids), w.limit-w.tokens)
		w.rows = append(w.rows, ids[:n])
		w.tokens += n
		ids = ids[n:]
		if w.tokens == w.limit {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the pending rows as the next shard, atomically, and records its size
// and checksum (computed by reading the written file back).
func (w *shardWriter) flush() error {
	if len(w.rows) == 0 {
		return nil
	}
	if len(w.shards) == MaxShards {
		return fmt.Errorf("data: the input needs more than %d shards of %d tokens; raise --shard-tokens",
			MaxShards, w.limit)
	}
	info := ShardInfo{File: shardName(len(w.shards)), Tokens: int64(w.tokens), Rows: int64(len(w.rows))}
	rec := shardRecord(w.rows)
	defer rec.Release()
	path := filepath.Join(w.dir, info.File)
	err := atomicfile.Write(path, 0o644, func(f *os.File) error {
		iw, err := ipc.NewFileWriter(f, ipc.WithSchema(shardSchema))
		if err != nil {
			return err
		}
		if err := iw.Write(rec); err != nil {
			return err
		}
		if err := iw.Close(); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		info.Bytes, info.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return fmt.Errorf("data: shard: %w", err)
	}
	w.shards = append(w.shards, info)
	w.rows, w.tokens = nil, 0
	return nil
}

// shardRecord builds the one-column record of rows.
func shardRecord(rows [][]int32) arrow.Record {
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int32)
	defer b.Release()
	vb := b.ValueBuilder().(*array.Int32Builder)
	for _, r := range rows {
		b.Append(true)
		vb.AppendValues(r, nil)
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecord(shardSchema, []arrow.Array{col}, int64(len(rows)))
}

// readShard reads one shard, checks its size, checksum and token count against
// info, and returns its rows.
func readShard(dir string, info ShardInfo, vocab int) ([][]int32, error) {
	path := filepath.Join(dir, info.File)
	b, err := readRegular(path, info.Bytes)
	if err != nil {
		return nil, fmt.Errorf("data: shard %s is missing, unreadable or larger than the manifest says: %w; %s", path, err, rerunHint)
	}
	if int64(len(b)) != info.Bytes {
		return nil, fmt.Errorf("data: shard %s is corrupt: %d bytes, manifest says %d; %s", path, len(b), info.Bytes, rerunHint)
	}
	if sum := sha256Hex(b); sum != info.SHA256 {
		return nil, fmt.Errorf("data: shard %s is corrupt: checksum %s, manifest says %s; %s", path, sum, info.SHA256, rerunHint)
	}
	var rows [][]int32
	err = guardArrow(path, "the shard", func() error {
		var err error
		rows, err = decodeShard(path, b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("data: shard %s: %w; %s", path, err, rerunHint)
	}
	var n int64
	for _, r := range rows {
		n += int64(len(r))
		for _, id := range r {
			if int(id) >= vocab {
				return nil, fmt.Errorf("data: shard %s holds id %d, outside the vocabulary of %d; %s", path, id, vocab, rerunHint)
			}
		}
	}
	if n != info.Tokens || int64(len(rows)) != info.Rows {
		return nil, fmt.Errorf("data: shard %s holds %d tokens in %d rows, manifest says %d in %d; %s",
			path, n, len(rows), info.Tokens, info.Rows, rerunHint)
	}
	return rows, nil
}

// decodeShard reads the rows of an Arrow IPC file with a list<int32> tokens column.
func decodeShard(path string, b []byte) ([][]int32, error) {
	if err := checkIPCFile(path, bytes.NewReader(b), int64(len(b))); err != nil {
		return nil, err
	}
	r, err := ipc.NewFileReader(bytes.NewReader(b), ipc.WithAllocator(newBoundedAllocator(int64(len(b)))))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if !r.Schema().Equal(shardSchema) {
		return nil, fmt.Errorf("schema %s, want %s", r.Schema(), shardSchema)
	}
	var rows [][]int32
	for i := range r.NumRecords() {
		rec, err := r.RecordAt(i)
		if err != nil {
			return nil, err
		}
		if err := checkRows(path, rec.NumRows(), int64(rec.Column(0).Len()), int64(len(b))); err != nil {
			rec.Release()
			return nil, err
		}
		docs, err := columnDocuments(rec.Column(0), "", 0)
		rec.Release()
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			rows = append(rows, d.Tokens)
		}
	}
	return rows, nil
}

// LoadShards reads a shard directory written by Prepare: it validates the
// manifest, then reads every shard, checking sizes, checksums, token counts and
// id ranges; a missing or corrupt shard is an error naming the file. It returns
// the manifest and the token stream.
func LoadShards(dir string) (*Manifest, []int32, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := m.checkShardSizes(dir); err != nil {
		return nil, nil, err
	}
	tokens := make([]int32, 0, m.Tokens)
	for _, s := range m.Shards {
		rows, err := readShard(dir, s, m.VocabSize)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			tokens = append(tokens, r...)
		}
	}
	return m, tokens, nil
}

// openShardSource yields the rows of a shard directory as pre-tokenized documents.
func openShardSource(dir string) (Source, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	next := 0
	fill := func() ([]Document, error) {
		if next == len(m.Shards) {
			return nil, io.EOF
		}
		info := m.Shards[next]
		next++
		rows, err := readShard(dir, info, m.VocabSize)
		if err != nil {
			return nil, err
		}
		docs := make([]Document, len(rows))
		for i, r := range rows {
			docs[i] = Document{Tokens: r, Origin: fmt.Sprintf("%s row %d", filepath.Join(dir, info.File), i)}
		}
		return docs, nil
	}
	return &batchSource{fill: fill}, nil
}

// checkShardSizes compares every shard's size on disk with the manifest before
// anything is allocated from the manifest's token counts (which validate has
// bounded by the claimed sizes): a manifest cannot make Load allocate more
// than the shard files could hold.
func (m *Manifest) checkShardSizes(dir string) error {
	for _, s := range m.Shards {
		path := filepath.Join(dir, s.File)
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("data: shard %s is missing or unreadable: %w; %s", path, err, rerunHint)
		}
		if !info.Mode().IsRegular() || info.Size() != s.Bytes {
			return fmt.Errorf("data: shard %s is corrupt: %d bytes, manifest says %d; %s", path, info.Size(), s.Bytes, rerunHint)
		}
	}
	return nil
}
