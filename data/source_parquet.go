package data

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// parquetBatchRows is how many rows one read converts.
const parquetBatchRows = 1024

// openParquetSource reads one column of a Parquet file through Arrow, a batch of
// rows at a time, reading only that column's data. Decoding runs under
// guardArrow: a damaged file is an error naming it, and no page may claim more
// memory than the file's size allows.
func openParquetSource(path, field string) (Source, error) {
	f, size, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	mem := newBoundedAllocator(size)
	var (
		pf  *file.Reader
		rr  pqarrow.RecordReader
		col int
	)
	err = guardArrow(path, "the Parquet footer", func() error {
		var err error
		pf, err = file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(mem)))
		if err != nil {
			return fmt.Errorf("data %s: not a Parquet file: %w", path, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, mem)
		if err != nil {
			return fmt.Errorf("data %s: %w", path, err)
		}
		schema, err := fr.Schema()
		if err != nil {
			return fmt.Errorf("data %s: %w", path, err)
		}
		if col, err = pickColumn(schema, field, path); err != nil {
			return err
		}
		leaves := leafColumns(&fr.Manifest.Fields[col], nil)
		rr, err = fr.GetRecordReader(context.Background(), leaves, nil)
		if err != nil {
			return fmt.Errorf("data %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		if pf != nil {
			pf.Close() // closes f
		} else {
			f.Close()
		}
		return nil, err
	}
	row, batch := int64(0), 0
	fill := func() (docs []Document, err error) {
		err = guardArrow(path, fmt.Sprintf("row batch %d", batch), func() error {
			if !rr.Next() {
				if err := rr.Err(); err != nil && err != io.EOF {
					return fmt.Errorf("data %s: %w; %s", path, err, damagedHint)
				}
				return io.EOF
			}
			docs, err = recordDocuments(rr.Record(), 0, path, size, &row)
			return err
		})
		batch++
		return docs, err
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
