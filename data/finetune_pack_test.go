package data

// Mutations tried on finetune_pack.go and finetune_encode.go, and the test that failed:
//   - the i > 0 condition dropped in packedPart.add (a document's first token
//     trained as the continuation of the one before): TestPackHandWorked,
//     TestPackMasksNeverCrossDocuments
//   - the prompt marked trained in EncodeRecord: TestPackHandWorked, TestPackSplitsWholeDocuments,
//     TestLoadFinetuneCounts
//   - no end-of-text token appended by EncodeRecord: TestPackHandWorked, TestLoadFinetuneCounts
//     and the sampler tests
//   - the stream not padded to whole windows (tail dropped): TestPackHandWorked,
//     TestPackMasksNeverCrossDocuments (trained count), TestPackTruncateAndSplit, TestLoadFinetuneCounts
//   - targets copied from the tokens, not the labels, in copyWindow: TestPackHandWorked,
//     TestPackMasksNeverCrossDocuments, TestPackTruncateAndSplit, TestLoadFinetuneCounts
//   - truncation keeping T tokens instead of T+1: TestPackTruncateAndSplit
//   - ceil replaced by floor in the split: TestPackSplitsWholeDocuments, TestLoadFinetuneCounts
//   - LoadFinetune not setting Pad to the end of text: TestLoadFinetuneCounts (padding id)
//   - ByteEndOfText 0 instead of 0xFF (a byte valid UTF-8 holds): TestByteEndOfTextLeavesTextAlone,
//     TestPackHandWorked

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/internal/rng"
)

// packAll packs docs into a set with opts.
func packAll(t *testing.T, opts PackOptions, docs ...FinetuneDoc) *FinetuneSet {
	t.Helper()
	p, err := NewFinetunePacker(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := p.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	set, err := p.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// trainWindows returns every training window of s in order.
func trainWindows(s *FinetuneSet) (inputs, targets [][]int32) {
	T := s.SeqLen()
	for w := range s.TrainWindows() {
		in, tg := make([]int32, T), make([]int32, T)
		s.train.copyWindow(w, T, in, tg)
		inputs, targets = append(inputs, in), append(targets, tg)
	}
	return inputs, targets
}

// TestPackHandWorked packs two documents with the byte tokenizer (E = end of
// text, 255; P = padding, here also E; - = IgnoreTarget) into windows of T = 4:
//
//	document A: prompt "ab", completion "c" -> a b c E, trained 0 0 1 1
//	document B: plain text "xy"             -> x y E,   trained 1 1 1
//
//	stream k:      0  1  2  3  4  5  6  7  8
//	token:         a  b  c  E  x  y  E  P  P
//	target of k-1: -  -  c  E  -  y  E  -  -
//
// k = 1 (b) is a prompt token; k = 4 (x) is trained in B but is the first token
// of its document, so it is not learned as what follows A's E. Window w holds
// inputs k = 4w..4w+3 and targets k = 4w+1..4w+4:
//
//	window 0: inputs a b c E   targets - c E -
//	window 1: inputs x y E P   targets y E - -
func TestPackHandWorked(t *testing.T) {
	var tok ByteTokenizer
	eot := ByteEndOfText
	a := EncodeRecord(tok, eot, Record{Prompt: "ab", Completion: "c"})
	b := EncodeRecord(tok, eot, Record{Completion: "xy"})
	set := packAll(t, PackOptions{SeqLen: 4, Pad: eot}, a, b)
	const E, P, I = 255, 255, IgnoreTarget
	wantIn := [][]int32{{'a', 'b', 'c', E}, {'x', 'y', E, P}}
	wantTg := [][]int32{{I, 'c', E, I}, {'y', E, I, I}}
	in, tg := trainWindows(set)
	if fmt.Sprint(in) != fmt.Sprint(wantIn) || fmt.Sprint(tg) != fmt.Sprint(wantTg) {
		t.Fatalf("windows:\n inputs  %v\n targets %v\nwant\n inputs  %v\n targets %v", in, tg, wantIn, wantTg)
	}
	want := PackCounts{Documents: 2, Tokens: 7, TrainedTokens: 4, Windows: 2}
	if c := set.TrainCounts(); c != want {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
}

func TestPackMasksNeverCrossDocuments(t *testing.T) {
	g := rng.New(7)
	for trial := range 50 {
		T := 1 + g.IntN(9)
		var docs []FinetuneDoc
		var docOf []int // stream position -> document
		var trained []bool
		for d := range 1 + g.IntN(12) {
			n := 1 + g.IntN(3*T)
			doc := FinetuneDoc{Tokens: make([]int32, n), Trained: make([]bool, n), Origin: fmt.Sprint(d)}
			for i := range n {
				doc.Tokens[i] = int32(d*100 + i)
				doc.Trained[i] = g.IntN(3) > 0
				docOf = append(docOf, d)
			}
			n++ // an end of text, trained: no set is left without a trained token
			doc.Tokens, doc.Trained = append(doc.Tokens, int32(d*100+n-1)), append(doc.Trained, true)
			docOf = append(docOf, d)
			trained = append(trained, doc.Trained...)
			docs = append(docs, doc)
		}
		set := packAll(t, PackOptions{SeqLen: T, Pad: -7}, docs...)
		want := 0
		for k := 1; k < len(docOf); k++ {
			if trained[k] && docOf[k] == docOf[k-1] {
				want++
			}
		}
		in, tg := trainWindows(set)
		got := 0
		for w := range in {
			for j := range T {
				k := w*T + j + 1 // stream position of the target
				if k >= len(docOf) {
					if (k-1 >= len(docOf) && in[w][j] != -7) || tg[w][j] != IgnoreTarget {
						t.Fatalf("trial %d: padding at window %d position %d: input %d target %d", trial, w, j, in[w][j], tg[w][j])
					}
					continue
				}
				if in[w][j]/100 != int32(docOf[k-1]) {
					t.Fatalf("trial %d: window %d position %d input %d, want a token of document %d", trial, w, j, in[w][j], docOf[k-1])
				}
				crosses := docOf[k] != docOf[k-1]
				if tg[w][j] != IgnoreTarget {
					got++
					if crosses || !trained[k] {
						t.Fatalf("trial %d: window %d position %d trains target %d (crosses %v, trained %v)", trial, w, j, tg[w][j], crosses, trained[k])
					}
				} else if !crosses && trained[k] {
					t.Fatalf("trial %d: window %d position %d skips a trained target", trial, w, j)
				}
			}
		}
		if c := set.TrainCounts(); got != want || c.TrainedTokens != want {
			t.Fatalf("trial %d: %d trained targets in windows, count %d, want %d", trial, got, c.TrainedTokens, want)
		}
	}
}

func TestPackTruncateAndSplit(t *testing.T) {
	long := FinetuneDoc{Tokens: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Trained: make([]bool, 10)}
	for i := 3; i < 10; i++ {
		long.Trained[i] = true
	}
	short := FinetuneDoc{Tokens: []int32{20, 21}, Trained: []bool{false, true}}
	cut := packAll(t, PackOptions{SeqLen: 4, Truncate: true}, long, short)
	want := PackCounts{Documents: 2, Tokens: 5 + 2, TrainedTokens: 2 + 1, Windows: 2, Truncated: 1}
	if c := cut.TrainCounts(); c != want {
		t.Fatalf("truncated: counts %+v, want %+v", c, want)
	}
	_, tg := trainWindows(cut)
	if got := fmt.Sprint(tg); got != fmt.Sprint([][]int32{{-100, -100, 4, 5}, {-100, 21, -100, -100}}) {
		t.Fatalf("truncated: targets %s", got)
	}
	split := packAll(t, PackOptions{SeqLen: 4}, long, short)
	want = PackCounts{Documents: 2, Tokens: 12, TrainedTokens: 7 + 1, Windows: 3, Split: 1}
	if c := split.TrainCounts(); c != want {
		t.Fatalf("split: counts %+v, want %+v", c, want)
	}
	// The prompt fills the window: nothing is left to train.
	p, _ := NewFinetunePacker(PackOptions{SeqLen: 2, Truncate: true})
	_ = p.Add(long)
	if _, err := p.Finish(); err == nil || !strings.Contains(err.Error(), "raise the sequence length") {
		t.Fatalf("all completions truncated away: error %v", err)
	}
}

func TestPackSplitsWholeDocuments(t *testing.T) {
	var tok ByteTokenizer
	var docs []FinetuneDoc
	for i := range 25 {
		docs = append(docs, EncodeRecord(tok, ByteEndOfText, Record{Prompt: fmt.Sprintf("q%02d", i), Completion: "a"}))
	}
	set := packAll(t, PackOptions{SeqLen: 8, ValFraction: 0.2, Pad: ByteEndOfText}, docs...)
	if c := set.ValCounts(); c.Documents != 5 || c.Tokens != 5*5 || c.TrainedTokens != 5*2 {
		t.Fatalf("val counts %+v, want 5 documents of 5 tokens", c)
	}
	if c := set.TrainCounts(); c.Documents != 20 {
		t.Fatalf("train counts %+v, want 20 documents", c)
	}
	ev, err := set.NewEval(100)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ev.Windows(0)
	text := tok.Decode(in[0])
	for i := range 25 {
		held := strings.Contains(text, fmt.Sprintf("q%02d", i))
		if held != (i%5 == 0) {
			t.Errorf("document %d held out = %v, want documents 0, 5, 10, 15, 20", i, held)
		}
	}
	again := packAll(t, PackOptions{SeqLen: 8, ValFraction: 0.2, Pad: ByteEndOfText}, docs...)
	in2, _ := again.mustEval(t).Windows(0)
	if fmt.Sprint(in2) != fmt.Sprint(in) {
		t.Fatal("the split differs between two runs")
	}
	p, _ := NewFinetunePacker(PackOptions{SeqLen: 8, ValFraction: 0.5})
	_ = p.Add(docs[0])
	if _, err := p.Finish(); err == nil || !strings.Contains(err.Error(), "none for training") {
		t.Fatalf("one document and a validation part: error %v", err)
	}
}

func (s *FinetuneSet) mustEval(t *testing.T) *FinetuneEval {
	t.Helper()
	ev, err := s.NewEval(100)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestPackOptionErrors(t *testing.T) {
	for _, opts := range []PackOptions{{SeqLen: 0}, {SeqLen: 4, ValFraction: 1}, {SeqLen: 4, ValFraction: -0.1}} {
		if _, err := NewFinetunePacker(opts); err == nil {
			t.Errorf("%+v accepted", opts)
		}
	}
	p, _ := NewFinetunePacker(PackOptions{SeqLen: 4})
	if err := p.Add(FinetuneDoc{Tokens: []int32{1, 2}, Trained: []bool{true}, Origin: "f.jsonl:3"}); err == nil ||
		!strings.Contains(err.Error(), "f.jsonl:3") {
		t.Errorf("mismatched mask: error %v", err)
	}
}

func TestLoadFinetuneCounts(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	wantTrained, wantTokens := 0, 0
	for i := range 30 {
		prompt, completion := fmt.Sprintf("%d+%d=", i, i), fmt.Sprint(2*i)
		fmt.Fprintf(&sb, "{\"prompt\": %q, \"completion\": %q}\n", prompt, completion)
		if i%10 != 0 { // documents 0, 10, 20 are held out at 0.1
			wantTrained += len(completion) + 1
			wantTokens += len(prompt) + len(completion) + 1
		}
	}
	path := writeFile(t, filepath.Join(dir, "sums.jsonl"), sb.String())
	set, err := LoadFinetune(path, ByteTokenizer{}, FinetuneOptions{Pack: PackOptions{SeqLen: 16, ValFraction: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	c := set.TrainCounts()
	if set.Format() != FinetunePromptCompletion || c.Documents != 27 || c.Tokens != wantTokens || c.TrainedTokens != wantTrained {
		t.Fatalf("format %q counts %+v, want 27 documents, %d tokens, %d trained", set.Format(), c, wantTokens, wantTrained)
	}
	if c.Windows != (wantTokens-1+15)/16 {
		t.Fatalf("%d windows for %d tokens", c.Windows, wantTokens)
	}
	in, tg := trainWindows(set)
	got := 0
	for w := range tg {
		for _, y := range tg[w] {
			if y != IgnoreTarget {
				got++
			}
		}
	}
	if got != wantTrained {
		t.Fatalf("%d trained targets in the windows, want %d", got, wantTrained)
	}
	last := in[len(in)-1]
	if last[len(last)-1] != ByteEndOfText {
		t.Fatalf("padding id %d, want the end of text %d", last[len(last)-1], ByteEndOfText)
	}
	if !strings.Contains(c.String(), "27 documents") {
		t.Fatalf("String() = %q", c.String())
	}
}

func TestLoadFinetuneNeedsEndOfText(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "d.jsonl"), `{"text": "x"}`)
	tok, err := TrainBPE([]string{"aa bb"}, 257)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadFinetune(path, tok, FinetuneOptions{Pack: PackOptions{SeqLen: 4}})
	if err == nil || !strings.Contains(err.Error(), "d.jsonl") || !strings.Contains(err.Error(), "added_tokens") {
		t.Fatalf("error %v", err)
	}
}

func TestByteEndOfTextLeavesTextAlone(t *testing.T) {
	var tok ByteTokenizer
	eot, err := tok.EndOfText()
	if err != nil || eot != 0xFF {
		t.Fatalf("EndOfText = %d, %v", eot, err)
	}
	var sb strings.Builder
	for r := rune(0); r < 0x11000; r += 7 {
		sb.WriteRune(r)
	}
	sb.WriteString("\U0010FFFF")
	text := sb.String()
	ids := tok.Encode(text)
	if slices.Contains(ids, eot) {
		t.Fatal("valid UTF-8 text encoded to the end-of-text id")
	}
	if tok.Decode(ids) != text {
		t.Fatal("round trip changed the text")
	}
}
