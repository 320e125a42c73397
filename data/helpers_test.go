package data

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

const shakespearePath = "../../shared/data/tinyshakespeare.txt"

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll drains a source.
func readAll(t *testing.T, src Source) []Document {
	t.Helper()
	defer src.Close()
	var docs []Document
	for {
		d, err := src.Next()
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
}

// textRecord is a one-column string record; extra adds an int64 "id" column first.
func textRecord(field string, texts []string) arrow.Record {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: field, Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	defer ib.Release()
	defer sb.Release()
	for i, s := range texts {
		ib.Append(int64(i))
		sb.Append(s)
	}
	ids, strs := ib.NewArray(), sb.NewArray()
	defer ids.Release()
	defer strs.Release()
	return array.NewRecord(schema, []arrow.Array{ids, strs}, int64(len(texts)))
}

// listRecord is a one-column list<elem> record of token rows.
func listRecord(field string, elem arrow.DataType, rows [][]int32) arrow.Record {
	mem := memory.DefaultAllocator
	lb := array.NewListBuilder(mem, elem)
	defer lb.Release()
	for _, r := range rows {
		lb.Append(true)
		switch vb := lb.ValueBuilder().(type) {
		case *array.Int32Builder:
			vb.AppendValues(r, nil)
		case *array.Int64Builder:
			for _, v := range r {
				vb.Append(int64(v))
			}
		case *array.Uint16Builder:
			for _, v := range r {
				vb.Append(uint16(v))
			}
		}
	}
	col := lb.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: field, Type: arrow.ListOf(elem)}}, nil)
	return array.NewRecord(schema, []arrow.Array{col}, int64(len(rows)))
}

// flatRecord is a one-column int32 record.
func flatRecord(field string, ids []int32) arrow.Record {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(ids, nil)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: field, Type: arrow.PrimitiveTypes.Int32}}, nil)
	return array.NewRecord(schema, []arrow.Array{col}, int64(len(ids)))
}

// writeArrowFile writes records (sharing a schema) in the IPC file format.
func writeArrowFile(t *testing.T, path string, recs ...arrow.Record) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(recs[0].Schema()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeArrowStream writes records in the IPC stream format.
func writeArrowStream(t *testing.T, path string, recs ...arrow.Record) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := ipc.NewWriter(f, ipc.WithSchema(recs[0].Schema()))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeParquet writes records as a Parquet file with small row groups.
func writeParquet(t *testing.T, path string, recs ...arrow.Record) {
	t.Helper()
	tbl := array.NewTableFromRecords(recs[0].Schema(), recs)
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pqarrow.WriteTable(tbl, f, 2, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
