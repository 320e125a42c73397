package data

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// tokenColumnNames are tried, in order, when a table has no column named
// DefaultTextField and no other field was asked for.
var tokenColumnNames = []string{ShardColumn, "input_ids", "ids"}

// pickColumn returns the index of the column to read: field if present;
// otherwise, when field is the default, a well-known token column or the only
// column. The column must hold text (string/binary), lists of integer ids, or
// integer ids.
func pickColumn(schema *arrow.Schema, field, path string) (int, error) {
	idx := -1
	if ix := schema.FieldIndices(field); len(ix) > 0 {
		idx = ix[0]
	} else if field == DefaultTextField {
		for _, name := range tokenColumnNames {
			if ix := schema.FieldIndices(name); len(ix) > 0 {
				idx = ix[0]
				break
			}
		}
		if idx < 0 && schema.NumFields() == 1 {
			idx = 0
		}
	}
	if idx < 0 {
		names := make([]string, schema.NumFields())
		for i, f := range schema.Fields() {
			names[i] = f.Name
		}
		return 0, fmt.Errorf("data %s: no column %q (columns: %s); set data.text_field", path, field, strings.Join(names, ", "))
	}
	if f := schema.Field(idx); !readableType(f.Type) {
		return 0, fmt.Errorf("data %s: column %q has type %s; want a string column or a list of integer token ids",
			path, f.Name, f.Type)
	}
	return idx, nil
}

func readableType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW:
		return isInteger(t.(arrow.ListLikeType).Elem())
	}
	return isInteger(t)
}

func isInteger(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// columnDocuments converts one column chunk into documents. Text is copied out of
// Arrow's buffers, so the documents outlive the record. firstRow numbers the
// rows for Origin. A flat integer column gives one document per chunk.
func columnDocuments(col arrow.Array, path string, firstRow int64) ([]Document, error) {
	origin := func(i int) string { return fmt.Sprintf("%s row %d", path, firstRow+int64(i)) }
	n := col.Len()
	switch a := col.(type) {
	case *array.String:
		return textDocs(n, a.IsNull, a.Value, origin)
	case *array.LargeString:
		return textDocs(n, a.IsNull, a.Value, origin)
	case *array.StringView:
		return textDocs(n, a.IsNull, a.Value, origin)
	case *array.Binary:
		return textDocs(n, a.IsNull, a.ValueString, origin)
	case *array.LargeBinary:
		return textDocs(n, a.IsNull, a.ValueString, origin)
	case array.ListLike:
		docs := make([]Document, 0, min(n, 1<<12))
		vals := a.ListValues()
		for i := range n {
			if a.IsNull(i) {
				continue
			}
			start, end := a.ValueOffsets(i)
			ids, err := integerValues(vals, int(start), int(end))
			if err != nil {
				return nil, fmt.Errorf("data %s: %w", origin(i), err)
			}
			docs = append(docs, Document{Tokens: ids, Origin: origin(i)})
		}
		return docs, nil
	}
	ids, err := integerValues(col, 0, n)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", origin(0), err)
	}
	return []Document{{Tokens: ids, Origin: origin(0)}}, nil
}

// textDocs copies the non-null values of a text column; a value that is not
// valid UTF-8 is an error naming its row, as in text and JSONL files.
func textDocs(n int, isNull func(int) bool, value func(int) string, origin func(int) string) ([]Document, error) {
	docs := make([]Document, 0, min(n, 1<<12))
	for i := range n {
		if isNull(i) {
			continue
		}
		v := value(i)
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("data %s: invalid UTF-8 at byte %d of the text; convert the column to UTF-8 text",
				origin(i), invalidUTF8At([]byte(v))+1)
		}
		docs = append(docs, Document{Text: strings.Clone(v), Origin: origin(i)})
	}
	return docs, nil
}

// integerValues copies vals[start:end] as token ids; nulls and values outside
// [0, 2^31) are errors.
func integerValues(vals arrow.Array, start, end int) ([]int32, error) {
	if vals.NullN() > 0 {
		for i := start; i < end; i++ {
			if vals.IsNull(i) {
				return nil, fmt.Errorf("token id %d is null", i-start)
			}
		}
	}
	switch a := vals.(type) {
	case *array.Int32:
		return narrow(a.Int32Values()[start:end])
	case *array.Int64:
		return narrow(a.Int64Values()[start:end])
	case *array.Int16:
		return narrow(a.Int16Values()[start:end])
	case *array.Int8:
		return narrow(a.Int8Values()[start:end])
	case *array.Uint32:
		return narrow(a.Uint32Values()[start:end])
	case *array.Uint64:
		return narrow(a.Uint64Values()[start:end])
	case *array.Uint16:
		return narrow(a.Uint16Values()[start:end])
	case *array.Uint8:
		return narrow(a.Uint8Values()[start:end])
	}
	return nil, fmt.Errorf("token ids of type %s are not integers", vals.DataType())
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func narrow[T integer](vals []T) ([]int32, error) {
	out := make([]int32, len(vals))
	for i, v := range vals {
		if v < 0 || uint64(v) > 1<<31-1 {
			return nil, fmt.Errorf("token id %d at %d is out of range", v, i)
		}
		out[i] = int32(v)
	}
	return out, nil
}
