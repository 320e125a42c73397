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
// Decoding runs under guardArrow: a damaged file is an error naming it, and no
// buffer may claim more memory than the file's size allows.
func openArrowSource(path, field string) (Source, error) {
	f, size, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(arrowFileMagic))
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	var src Source
	if n == len(head) && bytes.Equal(head, arrowFileMagic) {
		src, err = arrowFileSource(f, size, path, field)
	} else {
		src, err = arrowStreamSource(f, size, path, field)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

func arrowFileSource(f *os.File, size int64, path, field string) (Source, error) {
	if err := checkIPCFile(path, f, size); err != nil {
		return nil, err
	}
	var r *ipc.FileReader
	col := 0
	err := guardArrow(path, "the Arrow IPC footer", func() error {
		var err error
		r, err = ipc.NewFileReader(f, ipc.WithAllocator(newBoundedAllocator(size)))
		if err != nil {
			return fmt.Errorf("data %s: not an Arrow IPC file: %w", path, err)
		}
		col, err = pickColumn(r.Schema(), field, path)
		return err
	})
	if err != nil {
		if r != nil {
			r.Close()
		}
		return nil, err
	}
	next, row := 0, int64(0)
	fill := func() (docs []Document, err error) {
		if next == r.NumRecords() {
			return nil, io.EOF
		}
		err = guardArrow(path, fmt.Sprintf("record batch %d", next), func() error {
			rec, err := r.RecordAt(next)
			if err != nil {
				return fmt.Errorf("data %s: record batch %d: %w", path, next, err)
			}
			defer rec.Release()
			docs, err = recordDocuments(rec, col, path, size, &row)
			return err
		})
		next++
		return docs, err
	}
	return &batchSource{fill: fill, closeFn: func() error {
		r.Close()
		return f.Close()
	}}, nil
}

func arrowStreamSource(f *os.File, size int64, path, field string) (Source, error) {
	in := &streamFrames{r: bufio.NewReaderSize(f, 1<<20), left: size, path: path}
	var r *ipc.Reader
	col := 0
	err := guardArrow(path, "the Arrow IPC stream schema", func() error {
		var err error
		r, err = ipc.NewReader(in, ipc.WithAllocator(newBoundedAllocator(size)))
		if err != nil {
			if in.err != nil {
				return in.err
			}
			return fmt.Errorf("data %s: neither an Arrow IPC file nor stream: %w", path, err)
		}
		col, err = pickColumn(r.Schema(), field, path)
		return err
	})
	if err != nil {
		if r != nil {
			r.Release()
		}
		return nil, err
	}
	row := int64(0)
	batch := 0
	fill := func() (docs []Document, err error) {
		err = guardArrow(path, fmt.Sprintf("record batch %d", batch), func() error {
			if !r.Next() {
				if in.err != nil {
					return in.err
				}
				if err := r.Err(); err != nil && err != io.EOF {
					return fmt.Errorf("data %s: record batch %d: %w; %s", path, batch, err, damagedHint)
				}
				return io.EOF
			}
			docs, err = recordDocuments(r.Record(), col, path, size, &row)
			return err
		})
		batch++
		return docs, err
	}
	return &batchSource{fill: fill, closeFn: func() error {
		r.Release()
		return f.Close()
	}}, nil
}

// maxRecordRows bounds the rows a record batch of a file of size bytes may
// claim: even a column of nulls spends a validity bit per row, and a claimed
// row count is a loop (and an allocation) before any buffer is read.
func maxRecordRows(size int64) int64 { return 8*size + 1024 }

// recordDocuments converts column col of rec, a batch of a file of size bytes,
// and advances *row by its rows.
func recordDocuments(rec arrow.Record, col int, path string, size int64, row *int64) ([]Document, error) {
	if err := checkRows(path, rec.NumRows(), int64(rec.Column(col).Len()), size); err != nil {
		return nil, err
	}
	docs, err := columnDocuments(rec.Column(col), path, *row)
	*row += rec.NumRows()
	return docs, err
}

// checkRows refuses a batch whose row count or column length is negative or
// beyond what a file of size bytes can hold.
func checkRows(path string, rows, colLen, size int64) error {
	if rows < 0 || colLen < 0 || rows > maxRecordRows(size) || colLen > maxRecordRows(size) {
		return fmt.Errorf("data %s: a record batch claims %d rows (column length %d), more than a %d-byte file can hold; %s",
			path, rows, colLen, size, damagedHint)
	}
	return nil
}
