// Package data turns text into training batches: tokenizers, sources, packing,
// shards, and a deterministic, resumable sampler.
//
// The path of the data:
//
//	Source (text, JSONL, Parquet, Arrow IPC, shards) --Documents-->
//	Tokenizer (byte or BPE) --ids--> packed token stream []int32
//	  either kept in memory (Load) or written once as shards (Prepare, LoadShards)
//	Dataset: train/val split of the stream into contiguous chunks,
//	         windows of T+1 tokens (inputs = first T, targets = next T)
//	Sampler: shuffled train windows per epoch -> inputs, targets [B, T]
//	EvalIterator: val windows in fixed order
//
// Packing: documents are concatenated in source order. A text document is
// separated from the next by a blank line (only the newlines it lacks are added), so documents
// stay apart without a special token; pre-tokenized documents are taken as they
// are.
//
// Fine-tuning data (OpenFinetune, LoadFinetune) is read as records of a
// prompt and a completion: JSONL prompt/completion, Alpaca
// instruction/input/output (the prompt from AlpacaPrompt's template), or plain
// text (JSONL text, or a text file; no prompt, every token trained). Each record
// is tokenized as prompt, completion, end of text (Tokenizer.EndOfText), with
// the completion and the end of text trained. FinetuneSet splits the documents
// whole into train and validation parts and packs each into windows whose
// targets are IgnoreTarget wherever the loss must skip: prompts, padding, and
// the first token of every document, so no target crosses a document boundary.
// FinetuneSampler draws them as Sampler draws a Dataset's windows.
//
// Determinism: the split, the shuffles and the embedded corpus come from a
// generator fixed in this module (internal/rng), so the same seed gives the same
// batches on every Go release, and a Sampler restored from its State continues
// with exactly the batches it would have produced.
//
// Dimension legend (shared across moetrain): B batch, T sequence, N tokens
// (B*T), D model width, H heads, Dh head width, E experts, K experts per token,
// F expert hidden width, V vocabulary.
package data
