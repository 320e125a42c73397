package data

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// IgnoreTarget is the target id of a position the loss skips; it equals
// train.IgnoreIndex.
const IgnoreTarget int32 = -100

// PackOptions says how to split fine-tuning documents and pack them into windows.
type PackOptions struct {
	SeqLen      int     // T: tokens per training example (windows hold T+1)
	ValFraction float64 // share of documents held out for validation, in [0, 1)
	// Truncate cuts a document longer than T+1 tokens to its first T+1 (its
	// end-of-text token goes with the rest); without it such a document runs on
	// over as many windows as it needs.
	Truncate bool
	Pad      int32 // input id of the padding after a part's last document (LoadFinetune: end of text)
}

// PackCounts describes one packed part (train or validation).
type PackCounts struct {
	Documents     int // documents in the part
	Tokens        int // their tokens after truncation, padding not counted
	TrainedTokens int // targets the loss counts: the positions whose target is not IgnoreTarget
	Windows       int // windows of T+1 tokens
	Truncated     int // documents cut to T+1 tokens (PackOptions.Truncate)
	Split         int // documents longer than T+1 tokens, run over several windows
}

// String gives the counts for a log line.
func (c PackCounts) String() string {
	return fmt.Sprintf("%d documents, %d tokens (%d trained), %d windows, %d truncated, %d split",
		c.Documents, c.Tokens, c.TrainedTokens, c.Windows, c.Truncated, c.Split)
}

// FinetuneSet is fine-tuning data split by whole documents into train and
// validation parts, each packed and cut into windows of T+1 tokens.
//
// Split: document i (in file order) is held out when ceil((i+1)f) > ceil(i f)
// for f = ValFraction: documents 0, 10, 20, ... for f = 0.1. It depends on
// nothing but the order of the documents and f.
//
// Packing: a part's documents are concatenated in order into one stream, with
// nothing between them (each already ends with its end-of-text token). Windows
// start every T tokens, so consecutive windows share one token and every stream
// position but the first is a target exactly once per epoch; the stream is
// padded with PackOptions.Pad (targets IgnoreTarget) to fill the last window.
// The target at stream position k (the token after input k-1) is trained only
// when token k is a trained token (completion or end of text) and tokens k-1
// and k are of the same document: the first token of a document is never a
// target, and no target crosses from one document into the next. Attention
// still sees the earlier documents of a window; only the loss is masked.
type FinetuneSet struct {
	seqLen     int
	format     string
	train, val packedPart
}

// packedPart is one part's token stream and its targets.
type packedPart struct {
	tokens []int32 // [S] the stream
	labels []int32 // [S] labels[k]: the target of input k-1, or IgnoreTarget
	counts PackCounts
}

// FinetunePacker splits documents into parts and packs them as they arrive.
type FinetunePacker struct {
	opts       PackOptions
	docs       int
	train, val packedPart
}

// NewFinetunePacker returns a packer. It fails if T < 1 or ValFraction is
// outside [0, 1).
func NewFinetunePacker(opts PackOptions) (*FinetunePacker, error) {
	if opts.SeqLen < 1 {
		return nil, fmt.Errorf("data: sequence length %d, want at least 1", opts.SeqLen)
	}
	if f := opts.ValFraction; !(f >= 0 && f < 1) {
		return nil, fmt.Errorf("data: validation fraction %g, want a value in [0, 1)", f)
	}
	return &FinetunePacker{opts: opts}, nil
}

// Add packs d into its part. It fails if d is empty or its mask does not match
// its tokens.
func (p *FinetunePacker) Add(d FinetuneDoc) error {
	if len(d.Tokens) == 0 || len(d.Tokens) != len(d.Trained) {
		return fmt.Errorf("data %s: a document of %d tokens with a mask of %d", d.Origin, len(d.Tokens), len(d.Trained))
	}
	i, f := float64(p.docs), p.opts.ValFraction
	p.docs++
	part := &p.train
	if math.Ceil((i+1)*f) > math.Ceil(i*f) {
		part = &p.val
	}
	part.add(d, p.opts.SeqLen, p.opts.Truncate)
	return nil
}

func (pp *packedPart) add(d FinetuneDoc, T int, truncate bool) {
	tokens, trained := d.Tokens, d.Trained
	if len(tokens) > T+1 {
		if truncate {
			tokens, trained = tokens[:T+1], trained[:T+1]
			pp.counts.Truncated++
		} else {
			pp.counts.Split++
		}
	}
	for i, id := range tokens {
		label := IgnoreTarget
		if i > 0 && trained[i] {
			label = id
			pp.counts.TrainedTokens++
		}
		pp.tokens = append(pp.tokens, id)
		pp.labels = append(pp.labels, label)
	}
	pp.counts.Documents++
	pp.counts.Tokens += len(tokens)
}

// finish pads the stream to whole windows and counts them.
func (pp *packedPart) finish(T int, pad int32) {
	s := len(pp.tokens)
	if s < 2 {
		return
	}
	n := (s - 1 + T - 1) / T
	for len(pp.tokens) < n*T+1 {
		pp.tokens = append(pp.tokens, pad)
		pp.labels = append(pp.labels, IgnoreTarget)
	}
	pp.counts.Windows = n
}

// Finish returns the packed set. It fails when the training part has no
// trained token, or a validation part was asked for and there are too few
// documents to leave one for training.
func (p *FinetunePacker) Finish() (*FinetuneSet, error) {
	set, err := p.finish()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return set, nil
}

func (p *FinetunePacker) finish() (*FinetuneSet, error) {
	T := p.opts.SeqLen
	p.train.finish(T, p.opts.Pad)
	p.val.finish(T, p.opts.Pad)
	if p.train.counts.TrainedTokens == 0 {
		switch {
		case p.train.counts.Documents == 0:
			return nil, fmt.Errorf("%d documents leave none for training at validation fraction %g; add documents or lower the fraction",
				p.docs, p.opts.ValFraction)
		case p.train.counts.Truncated > 0:
			return nil, fmt.Errorf("no trained token is left in the first %d tokens of any training document; raise the sequence length or shorten the prompts", T+1)
		}
		return nil, errors.New("the training documents hold no trained token")
	}
	set := &FinetuneSet{seqLen: T, train: p.train, val: p.val}
	p.train, p.val = packedPart{}, packedPart{}
	return set, nil
}

// SeqLen returns T.
func (s *FinetuneSet) SeqLen() int { return s.seqLen }

// Format returns the format LoadFinetune read the records in (prompt_completion,
// alpaca or text); "" for a set packed by the caller.
func (s *FinetuneSet) Format() string { return s.format }

// TrainCounts describes the training part.
func (s *FinetuneSet) TrainCounts() PackCounts { return s.train.counts }

// ValCounts describes the validation part.
func (s *FinetuneSet) ValCounts() PackCounts { return s.val.counts }

// TrainWindows returns the number of training windows (one epoch).
func (s *FinetuneSet) TrainWindows() int { return s.train.counts.Windows }

// ValWindows returns the number of validation windows.
func (s *FinetuneSet) ValWindows() int { return s.val.counts.Windows }

// copyWindow writes window w of pp into one row of inputs and targets ([T] each).
func (pp *packedPart) copyWindow(w, T int, inputs, targets []int32) {
	start := w * T
	copy(inputs[:T], pp.tokens[start:start+T])
	copy(targets[:T], pp.labels[start+1:start+T+1])
}

// FinetuneOptions says how LoadFinetune reads and packs a file.
type FinetuneOptions struct {
	Read FinetuneReadOptions
	Pack PackOptions // Pad is set to the tokenizer's end of text
}

// LoadFinetune reads the fine-tuning file at path, tokenizes each record with
// tok (EncodeRecord, ending each with tok's end-of-text id) and packs the
// documents. Records are tokenized as they are read; the file is never held
// whole, except a plain text file, which is one record.
func LoadFinetune(path string, tok Tokenizer, opts FinetuneOptions) (*FinetuneSet, error) {
	eot, err := tok.EndOfText()
	if err != nil {
		return nil, fmt.Errorf("data %s: tokenizer %s: %w", path, tok.Name(), err)
	}
	opts.Pack.Pad = eot
	p, err := NewFinetunePacker(opts.Pack)
	if err != nil {
		return nil, err
	}
	r, err := OpenFinetune(path, opts.Read)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := p.Add(EncodeRecord(tok, eot, rec)); err != nil {
			return nil, err
		}
	}
	set, err := p.finish()
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	set.format = r.Format()
	return set, nil
}
