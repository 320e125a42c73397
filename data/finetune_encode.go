package data

import "strings"

// AlpacaPrompt returns the prompt of an Alpaca record, the output following it:
//
//	### Instruction:
//	<instruction>
//
//	### Input:
//	<input>
//
//	### Response:
//
// The Input section is left out when input is empty. The prompt ends with the
// newline after "### Response:", so the output starts on a line of its own.
func AlpacaPrompt(instruction, input string) string {
	var sb strings.Builder
	sb.WriteString("### Instruction:\n")
	sb.WriteString(instruction)
	if input != "" {
		sb.WriteString("\n\n### Input:\n")
		sb.WriteString(input)
	}
	sb.WriteString("\n\n### Response:\n")
	return sb.String()
}

// FinetuneDoc is one tokenized record: Tokens [L] and Trained [L], true for the
// tokens the loss learns (the completion and the end-of-text token after it).
type FinetuneDoc struct {
	Tokens  []int32 // [L]
	Trained []bool  // [L]
	Origin  string
}

// EncodeRecord tokenizes rec: the prompt's ids (not trained), then the
// completion's ids and eot (trained). Prompt and completion are encoded apart,
// so the boundary between them is exact even where a tokenizer would merge
// across it.
func EncodeRecord(tok Tokenizer, eot int32, rec Record) FinetuneDoc {
	prompt, completion := tok.Encode(rec.Prompt), tok.Encode(rec.Completion)
	n := len(prompt) + len(completion) + 1
	d := FinetuneDoc{Tokens: make([]int32, 0, n), Trained: make([]bool, n), Origin: rec.Origin}
	d.Tokens = append(append(append(d.Tokens, prompt...), completion...), eot)
	for i := len(prompt); i < n; i++ {
		d.Trained[i] = true
	}
	return d
}
