package bpe

import (
	"fmt"
	"strings"
)

// endOfTextTokens are the contents EndOfText looks for, in order of preference:
// GPT-2's, Llama 3's, and the sentence-end marker of Llama, Mistral and T5.
var endOfTextTokens = [...]string{"<|endoftext|>", "<|end_of_text|>", "</s>"}

// EndOfText returns the id of the end-of-text token: the first of
// <|endoftext|>, <|end_of_text|> and </s> found among tokenizer.json's added_tokens, else in the model
// vocabulary. Encode never produces it. It fails, saying what to add, when the
// tokenizer has none (as a tokenizer from Train has none).
func (t *Tokenizer) EndOfText() (int32, error) {
	for _, want := range endOfTextTokens {
		for _, a := range t.added {
			if a.Content == want {
				return a.ID, nil
			}
		}
	}
	for _, want := range endOfTextTokens {
		if id, ok := t.vocab[want]; ok {
			return id, nil
		}
	}
	return 0, fmt.Errorf("the tokenizer has no end-of-text token (looked for %s among added_tokens and the vocabulary); "+
		`add one to tokenizer.json's added_tokens, e.g. {"id": %d, "content": "<|endoftext|>", "special": true}, `+
		"and size the model's vocabulary to match", strings.Join(endOfTextTokens[:], " "), t.VocabSize())
}
