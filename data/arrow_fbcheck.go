package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Arrow's readers size slices by the vector lengths inside a file's flatbuffer
// metadata (a schema claiming 2^32 fields is a 300 GB make) before they read
// the vector. checkFooter and checkSchemaMessage walk that metadata first and
// refuse any vector longer than the bytes that would hold it.

// fbTable is a flatbuffer table at pos in b.
type fbTable struct {
	b   []byte
	pos int64
}

func fbU32(b []byte, at int64) (int64, bool) {
	if at < 0 || at+4 > int64(len(b)) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint32(b[at:])), true
}

// fbRoot returns the root table of b.
func fbRoot(b []byte) (fbTable, bool) {
	off, ok := fbU32(b, 0)
	if !ok {
		return fbTable{}, false
	}
	return fbTable{b, off}, off < int64(len(b))
}

// field returns the position of slot's value, 0 when the field is absent.
func (t fbTable) field(slot int) (int64, bool) {
	soff, ok := fbU32(t.b, t.pos)
	if !ok {
		return 0, false
	}
	vt := t.pos - int64(int32(uint32(soff)))
	if vt < 0 || vt+4 > int64(len(t.b)) {
		return 0, false
	}
	size := int64(binary.LittleEndian.Uint16(t.b[vt:]))
	at := vt + 4 + 2*int64(slot)
	if at+2 > vt+size {
		return 0, true
	}
	if at+2 > int64(len(t.b)) {
		return 0, false
	}
	off := int64(binary.LittleEndian.Uint16(t.b[at:]))
	if off == 0 {
		return 0, true
	}
	return t.pos + off, t.pos+off < int64(len(t.b))
}

// sub returns the table a slot refers to; present is false when it is absent.
func (t fbTable) sub(slot int) (sub fbTable, present, ok bool) {
	at, ok := t.field(slot)
	if !ok || at == 0 {
		return fbTable{}, false, ok
	}
	off, ok := fbU32(t.b, at)
	if !ok || at+off >= int64(len(t.b)) {
		return fbTable{}, false, false
	}
	return fbTable{t.b, at + off}, true, true
}

// vector returns the position of the first element and the length of the
// vector in slot, checking that length elements of elem bytes fit in b.
func (t fbTable) vector(slot int, elem int64) (start, n int64, ok bool) {
	at, ok := t.field(slot)
	if !ok || at == 0 {
		return 0, 0, ok
	}
	off, ok := fbU32(t.b, at)
	if !ok {
		return 0, 0, false
	}
	vec := at + off
	n, ok = fbU32(t.b, vec)
	if !ok || vec+4+n*elem > int64(len(t.b)) {
		return 0, 0, false
	}
	return vec + 4, n, true
}

// tables returns the tables of a vector of tables in slot.
func (t fbTable) tables(slot int) ([]fbTable, bool) {
	start, n, ok := t.vector(slot, 4)
	if !ok {
		return nil, false
	}
	out := make([]fbTable, 0, n)
	for i := range n {
		at := start + 4*i
		off, _ := fbU32(t.b, at)
		if at+off >= int64(len(t.b)) {
			return nil, false
		}
		out = append(out, fbTable{t.b, at + off})
	}
	return out, true
}

// maxFieldDepth bounds the nesting of schema fields (Arrow's readers recurse).
const maxFieldDepth = 64

// Slots of the Arrow flatbuffer tables that hold vectors.
const (
	footerSchema, footerDictionaries, footerRecordBatches = 1, 2, 3
	schemaFields, schemaMetadata                          = 1, 2
	fieldChildren, fieldMetadata                          = 5, 6
	messageHeaderType, messageHeader                      = 1, 2
	headerSchema                                          = 1 // MessageHeader union tag of a Schema
	blockBytes                                            = 24
)

// checkSchema checks the vectors of a Schema table.
func checkSchema(s fbTable) bool {
	fields, ok := s.tables(schemaFields)
	if !ok {
		return false
	}
	if _, ok := s.tables(schemaMetadata); !ok {
		return false
	}
	for _, f := range fields {
		if !checkField(f, 1) {
			return false
		}
	}
	return true
}

func checkField(f fbTable, depth int) bool {
	if depth > maxFieldDepth {
		return false
	}
	children, ok := f.tables(fieldChildren)
	if !ok {
		return false
	}
	if _, ok := f.tables(fieldMetadata); !ok {
		return false
	}
	for _, c := range children {
		if !checkField(c, depth+1) {
			return false
		}
	}
	return true
}

// checkFooter checks an IPC file's footer flatbuffer (the bytes before the
// trailing length and magic) so that no vector claims more than it holds.
func checkFooter(path string, footer []byte) error {
	bad := fmt.Errorf("data %s: the Arrow IPC footer is damaged: a schema or block list claims more entries than its %d bytes hold; %s",
		path, len(footer), damagedHint)
	root, ok := fbRoot(footer)
	if !ok {
		return bad
	}
	if s, present, ok := root.sub(footerSchema); !ok || (present && !checkSchema(s)) {
		return bad
	}
	for _, slot := range []int{footerDictionaries, footerRecordBatches} {
		if _, _, ok := root.vector(slot, blockBytes); !ok {
			return bad
		}
	}
	return nil
}

// checkSchemaMessage checks a stream message's metadata when it holds a schema.
func checkSchemaMessage(meta []byte) bool {
	root, ok := fbRoot(meta)
	if !ok {
		return false
	}
	at, ok := root.field(messageHeaderType)
	if !ok {
		return false
	}
	if at == 0 || meta[at] != headerSchema {
		return true
	}
	s, present, ok := root.sub(messageHeader)
	return ok && (!present || checkSchema(s))
}

// checkIPCFile reads the footer of an Arrow IPC file of size bytes and checks
// it with checkFooter, before Arrow's file reader decodes it.
func checkIPCFile(path string, r io.ReaderAt, size int64) error {
	tail := int64(len(arrowFileMagic) + 4)
	if size < 2*int64(len(arrowFileMagic))+4+tail {
		return fmt.Errorf("data %s: an Arrow IPC file of %d bytes is too short to hold a footer; %s", path, size, damagedHint)
	}
	end := make([]byte, tail)
	if _, err := r.ReadAt(end, size-tail); err != nil {
		return fmt.Errorf("data %s: reading the Arrow IPC footer: %w", path, err)
	}
	if !bytes.Equal(end[4:], arrowFileMagic) {
		return fmt.Errorf("data %s: the Arrow IPC file does not end with its magic (it is truncated or damaged); %s", path, damagedHint)
	}
	n := int64(binary.LittleEndian.Uint32(end))
	if n <= 0 || n > size-tail-int64(len(arrowFileMagic)) {
		return fmt.Errorf("data %s: the Arrow IPC footer claims %d bytes of a %d-byte file; %s", path, n, size, damagedHint)
	}
	footer := make([]byte, n)
	if _, err := r.ReadAt(footer, size-tail-n); err != nil {
		return fmt.Errorf("data %s: reading the Arrow IPC footer: %w", path, err)
	}
	return checkFooter(path, footer)
}
