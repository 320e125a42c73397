package data

import (
	"strings"
	"testing"
)

// seqTokens returns 0, 1, ..., n-1, so a token's value is its offset.
func seqTokens(n int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(i)
	}
	return t
}

func TestSplitIsDisjointCoveringAndSpread(t *testing.T) {
	tests := []struct {
		name     string
		n, T     int
		frac     float64
		chunk    int
		wantVal  int // held-out chunks
		wantLast bool
	}{
		{"every tenth chunk", 100_000, 16, 0.1, 1000, 10, false},
		{"a fifth", 50_000, 8, 0.2, 500, 20, false},
		{"no validation", 10_000, 8, 0, 500, 0, false},
		{"small data holds out the last chunk", 3000, 8, 0.1, 1000, 1, true},
	}
	for _, tc := range tests {
		d, err := NewDataset(seqTokens(tc.n), DatasetOptions{SeqLen: tc.T, ValFraction: tc.frac, ChunkTokens: tc.chunk})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		owner := make([]int, tc.n) // 1 train, 2 val
		for _, s := range d.TrainSpans() {
			for i := s[0]; i < s[1]; i++ {
				owner[i] |= 1
			}
		}
		for _, s := range d.ValSpans() {
			for i := s[0]; i < s[1]; i++ {
				owner[i] |= 2
			}
		}
		for i, o := range owner {
			if o != 1 && o != 2 {
				t.Fatalf("%s: token %d owned by %d (want exactly one part)", tc.name, i, o)
			}
		}
		if got := d.ValTokens() / tc.chunk; got != tc.wantVal && !(tc.wantLast && d.ValTokens() > 0) {
			t.Errorf("%s: %d validation chunks, want %d", tc.name, got, tc.wantVal)
		}
		if tc.wantLast && d.ValSpans()[0][1] != tc.n {
			t.Errorf("%s: held-out span %v is not the last chunk", tc.name, d.ValSpans())
		}
		if d.TrainTokens()+d.ValTokens() != tc.n {
			t.Errorf("%s: parts hold %d + %d tokens of %d", tc.name, d.TrainTokens(), d.ValTokens(), tc.n)
		}
		// Held-out chunks are spread out: no two adjacent for fractions below a half.
		for i := 1; i < len(d.ValSpans()); i++ {
			if d.ValSpans()[i][0] == d.ValSpans()[i-1][1] {
				t.Errorf("%s: validation chunks adjacent at %d", tc.name, d.ValSpans()[i][0])
			}
		}
	}
}

func TestWindowsStayInsideTheirPart(t *testing.T) {
	d, err := NewDataset(seqTokens(20_000), DatasetOptions{SeqLen: 32, ValFraction: 0.25, ChunkTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	inVal := func(off int) bool {
		for _, s := range d.ValSpans() {
			if off >= s[0] && off < s[1] {
				return true
			}
		}
		return false
	}
	trainSeen := map[int32]bool{}
	s := d.NewSampler(1)
	for range d.TrainWindows() {
		in, tg := s.Next(1)
		for i := range in {
			if tg[i] != in[i]+1 {
				t.Fatalf("target %d is not the input %d shifted by one", tg[i], in[i])
			}
			if inVal(int(in[i])) || inVal(int(tg[i])) {
				t.Fatalf("training window touches held-out token %d", in[i])
			}
			trainSeen[tg[i]] = true
		}
	}
	it := d.Eval()
	for {
		in, tg, rows := it.Next(3)
		if rows == 0 {
			break
		}
		for i := range in {
			if !inVal(int(in[i])) || !inVal(int(tg[i])) || trainSeen[tg[i]] || trainSeen[in[i]] {
				t.Fatalf("validation window holds training token %d", in[i])
			}
		}
	}
}

func TestDatasetErrors(t *testing.T) {
	tests := []struct {
		name string
		n    int
		opts DatasetOptions
		want string
	}{
		{"zero seq len", 100, DatasetOptions{SeqLen: 0}, "sequence length"},
		{"fraction one", 100, DatasetOptions{SeqLen: 4, ValFraction: 1}, "fraction"},
		{"negative fraction", 100, DatasetOptions{SeqLen: 4, ValFraction: -0.1}, "fraction"},
		{"too short", 10, DatasetOptions{SeqLen: 16}, "no window"},
		{"no room for validation", 40, DatasetOptions{SeqLen: 16, ValFraction: 0.1}, "validation window"},
	}
	for _, tc := range tests {
		_, err := NewDataset(seqTokens(tc.n), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
