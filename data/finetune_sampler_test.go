package data

// Mutations tried on finetune_sampler.go, and the test that failed:
//   - Restore not checking the window count: TestFinetuneSamplerRestoreRefusesOtherData
//   - the epoch not mixed into the shuffle seed: TestFinetuneSamplerEpochs
//   - rank's block taken at row i instead of i - rank*batch: TestFinetuneSamplerRanks
//   - Restore keeping the old position (st not assigned): TestFinetuneSamplerResumesExactly
//   - FinetuneEval reading train windows: TestFinetuneEvalWindows, TestPackSplitsWholeDocuments

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// samplerSet packs n documents "dNN" -> "cNN" of the byte tokenizer into windows of T = 8.
func samplerSet(t *testing.T, n int, valFraction float64) *FinetuneSet {
	t.Helper()
	var tok ByteTokenizer
	var docs []FinetuneDoc
	for i := range n {
		docs = append(docs, EncodeRecord(tok, ByteEndOfText, Record{Prompt: fmt.Sprintf("d%02d", i), Completion: fmt.Sprintf("c%02d", i)}))
	}
	return packAll(t, PackOptions{SeqLen: 8, ValFraction: valFraction, Pad: ByteEndOfText}, docs...)
}

func TestFinetuneSamplerResumesExactly(t *testing.T) {
	set := samplerSet(t, 20, 0)
	b, err := set.NewSampler(11).NewBatches(3)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var saved []byte
	for step := range 12 { // 36 windows: more than one epoch of 7
		if step == 5 {
			if saved, err = b.State(); err != nil {
				t.Fatal(err)
			}
		}
		in, tg := b.Next()
		if step >= 5 {
			want = append(want, fmt.Sprint(in, tg))
		}
	}
	resumed, _ := set.NewSampler(99).NewBatches(3)
	if err := resumed.Restore(saved); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		in, tg := resumed.Next()
		if got := fmt.Sprint(in, tg); got != w {
			t.Fatalf("batch %d after resume differs:\n got  %s\n want %s", i+5, got, w)
		}
	}
	if err := resumed.Restore([]byte("{")); err == nil || !strings.Contains(err.Error(), "sampler state") {
		t.Fatalf("bad JSON: error %v", err)
	}
}

func TestFinetuneSamplerEpochs(t *testing.T) {
	set := samplerSet(t, 20, 0)
	n := set.TrainWindows()
	all, _ := trainWindows(set)
	s := set.NewSampler(3)
	var orders [2][]int
	for e := range 2 {
		for range n {
			in, _ := s.Next(1)
			orders[e] = append(orders[e], slices.IndexFunc(all, func(w []int32) bool { return slices.Equal(w, in) }))
		}
		if s.Epoch() != e+1 {
			t.Fatalf("epoch %d after %d windows", s.Epoch(), (e+1)*n)
		}
		sorted := slices.Sorted(slices.Values(orders[e]))
		for i, w := range sorted {
			if w != i {
				t.Fatalf("epoch %d visits windows %v, want each of %d once", e, orders[e], n)
			}
		}
	}
	if slices.Equal(orders[0], orders[1]) {
		t.Fatalf("epochs 0 and 1 have the same order %v", orders[0])
	}
}

func TestFinetuneSamplerRanks(t *testing.T) {
	set := samplerSet(t, 20, 0)
	one := set.NewSampler(5)
	r0, _ := set.NewRankSampler(5, 0, 2)
	r1, _ := set.NewRankSampler(5, 1, 2)
	for range 4 {
		in, tg := one.Next(4)
		in0, tg0 := r0.Next(2)
		in1, tg1 := r1.Next(2)
		if !slices.Equal(in, slices.Concat(in0, in1)) || !slices.Equal(tg, slices.Concat(tg0, tg1)) {
			t.Fatal("two ranks of B = 2 do not split the single sampler's B = 4")
		}
	}
	if _, err := set.NewRankSampler(5, 2, 2); err == nil {
		t.Fatal("rank 2 of 2 accepted")
	}
}

func TestFinetuneSamplerRestoreRefusesOtherData(t *testing.T) {
	s := samplerSet(t, 20, 0).NewSampler(1)
	other := samplerSet(t, 30, 0).NewSampler(1)
	if err := other.Restore(s.State()); err == nil || !strings.Contains(err.Error(), "training windows") {
		t.Fatalf("state of another set: error %v", err)
	}
	st := s.State()
	st.Position = st.Windows
	if err := s.Restore(st); err == nil {
		t.Fatal("position past the epoch accepted")
	}
	if _, err := s.NewBatches(0); err == nil {
		t.Fatal("batch size 0 accepted")
	}
}

func TestFinetuneEvalWindows(t *testing.T) {
	set := samplerSet(t, 40, 0.25)
	var tok ByteTokenizer
	ev, err := set.NewEval(2)
	if err != nil {
		t.Fatal(err)
	}
	in, tg := ev.Windows(0)
	n := set.ValWindows()
	if len(in) != (n+1)/2 || len(tg) != len(in) {
		t.Fatalf("%d batches of 2 for %d windows", len(in), n)
	}
	text := tok.Decode(slices.Concat(in...))
	for i := range 40 {
		if strings.Contains(text, fmt.Sprintf("d%02d", i)) != (i%4 == 0) {
			t.Fatalf("document %d in the validation windows = %v; want documents 0, 4, 8, ...", i, !(i%4 == 0))
		}
	}
	again, _ := ev.Windows(0)
	if fmt.Sprint(again) != fmt.Sprint(in) {
		t.Fatal("a second pass differs")
	}
	if capped, _ := ev.Windows(1); len(capped) != 1 {
		t.Fatalf("Windows(1) gave %d batches", len(capped))
	}
	if _, err := set.NewEval(0); err == nil {
		t.Fatal("batch size 0 accepted")
	}
}
