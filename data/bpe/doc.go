// Package bpe is a byte-level byte-pair-encoding tokenizer in the style of GPT-2:
// text is split into words by the GPT-2 pre-tokenizer pattern, each word's UTF-8
// bytes start as single-byte tokens, and learned merges join adjacent tokens in
// the order they were learned (their rank).
//
// Train learns merges from text by counting adjacent token pairs over the distinct
// pre-tokenized words and repeatedly merging the most frequent pair. A Tokenizer
// saves to and loads from the HuggingFace tokenizers format (tokenizer.json with
// model.type "BPE" and ByteLevel pre-tokenizer and decoder), so files written here
// are readable by HuggingFace tokenizers, and GPT-2-style files written there load
// here.
//
// Ids: a trained tokenizer gives id b to the single byte b (0..255) and id 256+r
// to the token made by merge rank r. Loaded files keep their own ids.
//
// Dimension legend (shared across moetrain): V vocabulary.
package bpe
