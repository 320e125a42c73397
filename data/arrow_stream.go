package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// streamFrames passes an Arrow IPC stream through, message by message, after
// checking each message's metadata and body lengths against the bytes left in
// the file: Arrow's stream reader allocates a claimed metadata length before
// reading it. The first refused claim is kept in err and ends the stream.
type streamFrames struct {
	r       io.Reader
	left    int64  // bytes of the file not yet read from r
	path    string // for messages
	pending []byte // checked framing and metadata not yet passed on
	body    int64  // bytes of the current message body not yet passed on
	done    bool   // the end-of-stream marker was passed on
	err     error  // the first damage found
	message int    // messages framed so far, for errors
}

// ipcContinuation marks a message length in the current IPC framing.
const ipcContinuation = 0xFFFFFFFF

func (s *streamFrames) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(s.pending) == 0 && s.body == 0 {
		if s.done {
			return 0, io.EOF
		}
		if err := s.frame(); err != nil {
			if err != io.EOF {
				s.err = err
			}
			return 0, err
		}
	}
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	n, err := s.r.Read(p[:min(int64(len(p)), s.body)])
	s.body -= int64(n)
	s.left -= int64(n)
	if err == io.EOF && s.body > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// frame reads the next message's framing and metadata into pending and sets
// body to the length of its body, or returns io.EOF at the end of the file.
func (s *streamFrames) frame() error {
	head, err := s.readN(4)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return s.damaged("a truncated message header")
	}
	length := binary.LittleEndian.Uint32(head)
	if length == ipcContinuation {
		more, err := s.readN(4)
		if err != nil {
			return s.damaged("a truncated message length")
		}
		head = append(head, more...)
		length = binary.LittleEndian.Uint32(more)
	}
	s.pending = head
	s.message++
	if length == 0 {
		s.done = true
		return nil
	}
	if int64(int32(length)) < 0 || int64(length) > s.left {
		return s.damaged(fmt.Sprintf("message %d claims %d bytes of metadata with %d bytes left in the file",
			s.message, int32(length), s.left))
	}
	meta, err := s.readN(int(length))
	if err != nil {
		return s.damaged(fmt.Sprintf("message %d is cut short", s.message))
	}
	if !checkSchemaMessage(meta) {
		return s.damaged(fmt.Sprintf("the schema of message %d claims more fields than its %d bytes hold", s.message, len(meta)))
	}
	body, ok := messageBodyLength(meta)
	if !ok || body < 0 || body > s.left {
		return s.damaged(fmt.Sprintf("message %d claims a body of %d bytes with %d bytes left in the file",
			s.message, body, s.left))
	}
	s.pending = append(s.pending, meta...)
	s.body = body
	return nil
}

// readN reads exactly n bytes (n at most s.left, checked by the caller).
func (s *streamFrames) readN(n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := io.ReadFull(s.r, b)
	s.left -= int64(got)
	if errors.Is(err, io.ErrUnexpectedEOF) || (err == io.EOF && got > 0) {
		return nil, io.ErrUnexpectedEOF
	}
	return b, err
}

func (s *streamFrames) damaged(what string) error {
	return fmt.Errorf("data %s: not a valid Arrow IPC stream: %s; %s", s.path, what, damagedHint)
}

// messageBodyLength reads the bodyLength field (slot 3) of a flatbuffer
// Message table, checking every offset against the buffer; a missing field
// is 0. ok is false when the buffer is not a well-formed table.
func messageBodyLength(b []byte) (int64, bool) {
	u32 := func(at int64) (int64, bool) {
		if at < 0 || at+4 > int64(len(b)) {
			return 0, false
		}
		return int64(binary.LittleEndian.Uint32(b[at:])), true
	}
	root, ok := u32(0)
	if !ok {
		return 0, false
	}
	soff, ok := u32(root)
	if !ok {
		return 0, false
	}
	vt := root - int64(int32(uint32(soff)))
	if vt < 0 || vt+4 > int64(len(b)) {
		return 0, false
	}
	vtSize := int64(binary.LittleEndian.Uint16(b[vt:]))
	const slot = 4 + 2*3
	if vtSize < slot+2 || vt+slot+2 > int64(len(b)) {
		return 0, true
	}
	off := int64(binary.LittleEndian.Uint16(b[vt+slot:]))
	if off == 0 {
		return 0, true
	}
	at := root + off
	if at+8 > int64(len(b)) {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[at:])), true
}
