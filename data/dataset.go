package data

import (
	"fmt"
	"math"
)

// DefaultChunkTokens is the split granularity: the token stream is cut into
// chunks of this many tokens, and whole chunks go to validation.
const DefaultChunkTokens = 8192

// DatasetOptions says how to split a token stream and cut it into windows.
type DatasetOptions struct {
	SeqLen      int     // T: tokens per training example (windows hold T+1)
	ValFraction float64 // share of chunks held out for validation, in [0, 1)
	ChunkTokens int     // split granularity; 0 means DefaultChunkTokens, raised to at least 2(T+1)
}

// Dataset is a token stream split into train and validation parts, each cut into
// windows of T+1 tokens: inputs are the first T, targets the last T (the inputs
// shifted by one). Windows start every T tokens within a part, so consecutive
// windows share one token and every token but the first of a part is a target
// exactly once per epoch. A window never crosses from one part into the other.
//
// The split is at the level of contiguous chunks (DatasetOptions.ChunkTokens):
// chunk i is held out when floor((i+1)f) > floor(i f) for f = ValFraction, which
// spreads the held-out chunks evenly through the stream (every 10th chunk for f =
// 0.1) and depends on nothing but the stream length, T and f. If f > 0 picks no
// chunk, the last chunk is held out.
type Dataset struct {
	tokens      []int32
	seqLen      int
	chunkTokens int
	train, val  []span
	trainStarts []int // window start offsets into tokens
	valStarts   []int
}

// span is a half-open range of token offsets.
type span struct{ start, end int }

// NewDataset splits tokens and indexes the windows. It does not copy tokens. It
// fails if T < 1, ValFraction is outside [0, 1), or a part that should hold
// windows has none (too little data for T).
func NewDataset(tokens []int32, opts DatasetOptions) (*Dataset, error) {
	T, f := opts.SeqLen, opts.ValFraction
	if T < 1 {
		return nil, fmt.Errorf("data: sequence length %d, want at least 1", T)
	}
	if !(f >= 0 && f < 1) {
		return nil, fmt.Errorf("data: validation fraction %g, want a value in [0, 1)", f)
	}
	chunk := opts.ChunkTokens
	if chunk <= 0 {
		chunk = DefaultChunkTokens
	}
	chunk = max(chunk, 2*(T+1))
	d := &Dataset{tokens: tokens, seqLen: T, chunkTokens: chunk}
	nChunks := (len(tokens) + chunk - 1) / chunk
	held := make([]bool, nChunks)
	anyHeld := false
	for i := range nChunks {
		held[i] = math.Floor(float64(i+1)*f) > math.Floor(float64(i)*f)
		anyHeld = anyHeld || held[i]
	}
	if f > 0 && !anyHeld && nChunks >= 2 {
		held[nChunks-1] = true
	}
	for i := range nChunks {
		s := span{i * chunk, min((i+1)*chunk, len(tokens))}
		if held[i] {
			d.val = appendSpan(d.val, s)
		} else {
			d.train = appendSpan(d.train, s)
		}
	}
	d.trainStarts = windowStarts(d.train, T)
	d.valStarts = windowStarts(d.val, T)
	if len(d.trainStarts) == 0 {
		return nil, fmt.Errorf("data: %d tokens (%d for training) hold no window of %d tokens; use more data or a shorter sequence length",
			len(tokens), spanTokens(d.train), T+1)
	}
	if f > 0 && len(d.valStarts) == 0 {
		return nil, fmt.Errorf("data: %d tokens leave no validation window of %d tokens at fraction %g; use more data, a shorter sequence length, or fraction 0",
			len(tokens), T+1, f)
	}
	return d, nil
}

// appendSpan adds s, merging it into the last span when they touch.
func appendSpan(spans []span, s span) []span {
	if n := len(spans); n > 0 && spans[n-1].end == s.start {
		spans[n-1].end = s.end
		return spans
	}
	return append(spans, s)
}

func spanTokens(spans []span) int {
	n := 0
	for _, s := range spans {
		n += s.end - s.start
	}
	return n
}

func windowStarts(spans []span, T int) []int {
	var starts []int
	for _, s := range spans {
		for p := s.start; p+T+1 <= s.end; p += T {
			starts = append(starts, p)
		}
	}
	return starts
}

// SeqLen returns T.
func (d *Dataset) SeqLen() int { return d.seqLen }

// Tokens returns the whole stream (not a copy).
func (d *Dataset) Tokens() []int32 { return d.tokens }

// TrainWindows returns the number of training windows (one epoch).
func (d *Dataset) TrainWindows() int { return len(d.trainStarts) }

// ValWindows returns the number of validation windows.
func (d *Dataset) ValWindows() int { return len(d.valStarts) }

// TrainTokens returns the number of tokens in the training part.
func (d *Dataset) TrainTokens() int { return spanTokens(d.train) }

// ValTokens returns the number of tokens in the validation part.
func (d *Dataset) ValTokens() int { return spanTokens(d.val) }

// TrainSpans returns the training part as half-open [start, end) token ranges.
func (d *Dataset) TrainSpans() [][2]int { return spansOut(d.train) }

// ValSpans returns the validation part as half-open [start, end) token ranges.
func (d *Dataset) ValSpans() [][2]int { return spansOut(d.val) }

func spansOut(spans []span) [][2]int {
	out := make([][2]int, len(spans))
	for i, s := range spans {
		out[i] = [2]int{s.start, s.end}
	}
	return out
}

// copyWindow writes the window at start into one row of inputs and targets ([T] each).
func (d *Dataset) copyWindow(start int, inputs, targets []int32) {
	T := d.seqLen
	copy(inputs[:T], d.tokens[start:start+T])
	copy(targets[:T], d.tokens[start+1:start+T+1])
}
