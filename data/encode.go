package data

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// encodeBatchBytes is roughly how much text is read before it is tokenized in parallel.
const encodeBatchBytes = 4 << 20

// terminated returns text ending in a blank line, adding only the newlines it lacks.
func terminated(text string) string {
	switch {
	case strings.HasSuffix(text, "\n\n"):
		return text
	case strings.HasSuffix(text, "\n"):
		return text + "\n"
	}
	return text + "\n\n"
}

// documentTokens returns the ids a document adds to the packed stream and the
// separator ids that must come before the next document: for text, the
// encoding of the text and of the newlines it lacks to end in a blank line;
// for a pre-tokenized document, its ids as given (which must lie in the
// tokenizer's vocabulary) and no separator. Empty documents add nothing.
// Separators go between documents only, so a single file reads as exactly
// its own tokens.
func documentTokens(doc Document, tok Tokenizer) (ids, sep []int32, err error) {
	if doc.Tokens != nil {
		v := tok.VocabSize()
		for i, id := range doc.Tokens {
			if id < 0 || int(id) >= v {
				return nil, nil, fmt.Errorf("data %s: token %d is id %d, outside the vocabulary of tokenizer %s (V = %d)",
					doc.Origin, i, id, tok.Name(), v)
			}
		}
		return doc.Tokens, nil, nil
	}
	if doc.Text == "" {
		return nil, nil, nil
	}
	if missing := terminated(doc.Text)[len(doc.Text):]; missing != "" {
		sep = tok.Encode(missing)
	}
	return tok.Encode(doc.Text), sep, nil
}

// encodeSource reads src to the end and passes each document's ids to emit, in
// source order. Text is tokenized on all cores, a batch of documents at a time.
// It returns the number of documents that added tokens.
func encodeSource(src Source, tok Tokenizer, emit func(ids []int32) error) (int64, error) {
	workers := runtime.GOMAXPROCS(0)
	var docsOut int64
	var batch []Document
	var sepBefore []int32 // separator the previous document left for the next one
	pending := 0
	flush := func() error {
		out := make([][]int32, len(batch))
		seps := make([][]int32, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(batch); i += workers {
					out[i], seps[i], errs[i] = documentTokens(batch[i], tok)
				}
			}()
		}
		wg.Wait()
		for i, ids := range out {
			if errs[i] != nil {
				return errs[i]
			}
			if len(ids) == 0 {
				continue
			}
			docsOut++
			if docsOut > 1 && len(sepBefore) > 0 {
				ids = append(append(make([]int32, 0, len(sepBefore)+len(ids)), sepBefore...), ids...)
			}
			sepBefore = seps[i]
			if err := emit(ids); err != nil {
				return err
			}
		}
		batch, pending = batch[:0], 0
		return nil
	}
	for {
		doc, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return docsOut, err
		}
		batch = append(batch, doc)
		pending += len(doc.Text) + 4*len(doc.Tokens)
		if pending >= encodeBatchBytes {
			if err := flush(); err != nil {
				return docsOut, err
			}
		}
	}
	return docsOut, flush()
}
