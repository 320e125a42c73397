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

// documentTokens returns the ids a document adds to the packed stream: the
// encoding of its text followed by a blank line, or its ids as given, which must
// lie in the tokenizer's vocabulary. Empty documents add nothing.
func documentTokens(doc Document, tok Tokenizer) ([]int32, error) {
	if doc.Tokens != nil {
		v := tok.VocabSize()
		for i, id := range doc.Tokens {
			if id < 0 || int(id) >= v {
				return nil, fmt.Errorf("data %s: token %d is id %d, outside the vocabulary of tokenizer %s (V = %d)",
					doc.Origin, i, id, tok.Name(), v)
			}
		}
		return doc.Tokens, nil
	}
	if doc.Text == "" {
		return nil, nil
	}
	return tok.Encode(terminated(doc.Text)), nil
}

// encodeSource reads src to the end and passes each document's ids to emit, in
// source order. Text is tokenized on all cores, a batch of documents at a time.
// It returns the number of documents that added tokens.
func encodeSource(src Source, tok Tokenizer, emit func(ids []int32) error) (int64, error) {
	workers := runtime.GOMAXPROCS(0)
	var docsOut int64
	var batch []Document
	pending := 0
	flush := func() error {
		out := make([][]int32, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(batch); i += workers {
					out[i], errs[i] = documentTokens(batch[i], tok)
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
