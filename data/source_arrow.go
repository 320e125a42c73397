package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// arrowFileMagic opens (and closes) an Arrow IPC file; the stream format has no magic.
var arrowFileMagic = []byte("ARROW1")

// openArrowSource reads an Arrow IPC file or stream, one record batch at a time.
func openArrowSource(path, field string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	head := make([]byte, len(arrowFileMagic))
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	var src Source
	if n == len(head) && bytes.Equal(head, arrowFileMagic) {
		src, err = arrowFileSource(f, path, field)
	} else {
		src, err = arrowStreamSource(f, path, field)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

func arrowFileSource(f *os.File, path, field string) (Source, error) {
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return nil, fmt.Errorf("data %s: not an Arrow IPC file: %w", path, err)
	}
	col, err := pickColumn(r.Schema(), field, path)
	if err != nil {
		r.Close()
		return nil, err
	}
	next, row := 0, int64(0)
	fill := func() ([]Document, error) {
		if next == r.NumRecords() {
			return nil, io.EOF
		}
		rec, err := r.RecordAt(next)
		if err != nil {
			return nil, fmt.Errorf("data %s: record batch %d: %w", path, next, err)
		}
		defer rec.Release()
		next++
		return recordDocuments(rec, col, path, &row)
	}
	return &batchSource{fill: fill, closeFn: func() error {
		r.Close()
		return f.Close()
	}}, nil
}

func arrowStreamSource(f *os.File, path, field string) (Source, error) {
	r, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("data %s: neither an Arrow IPC file nor stream: %w", path, err)
	}
	col, err := pickColumn(r.Schema(), field, path)
	if err != nil {
		r.Release()
		return nil, err
	}
	row := int64(0)
	fill := func() ([]Document, error) {
		if !r.Next() {
			if err := r.Err(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("data %s: %w", path, err)
			}
			return nil, io.EOF
		}
		return recordDocuments(r.Record(), col, path, &row)
	}
	return &batchSource{fill: fill, closeFn: func() error {
		r.Release()
		return f.Close()
	}}, nil
}

// recordDocuments converts column col of rec and advances *row by its rows.
func recordDocuments(rec arrow.Record, col int, path string, row *int64) ([]Document, error) {
	docs, err := columnDocuments(rec.Column(col), path, *row)
	*row += rec.NumRows()
	return docs, err
}
