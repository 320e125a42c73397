package data

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// parquetBatchRows is how many rows one read converts.
const parquetBatchRows = 1024

// openParquetSource reads one column of a Parquet file through Arrow, a batch of
// rows at a time, reading only that column's data.
func openParquetSource(path, field string) (Source, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("data %s: not a Parquet file: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	col, err := pickColumn(schema, field, path)
	if err != nil {
		pf.Close()
		return nil, err
	}
	leaves := leafColumns(&fr.Manifest.Fields[col], nil)
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	row := int64(0)
	fill := func() ([]Document, error) {
		if !rr.Next() {
			if err := rr.Err(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("data %s: %w", path, err)
			}
			return nil, io.EOF
		}
		return recordDocuments(rr.Record(), 0, path, &row)
	}
	return &batchSource{fill: fill, closeFn: func() error {
		rr.Release()
		return pf.Close()
	}}, nil
}

// leafColumns appends the Parquet leaf column indices under a schema field.
func leafColumns(f *pqarrow.SchemaField, out []int) []int {
	if f.IsLeaf() {
		return append(out, f.ColIndex)
	}
	for i := range f.Children {
		out = leafColumns(&f.Children[i], out)
	}
	return out
}
