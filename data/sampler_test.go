package data

import (
	"encoding/json"
	"slices"
	"testing"
)

func testDataset(t *testing.T) *Dataset {
	t.Helper()
	d, err := NewDataset(seqTokens(10_000), DatasetOptions{SeqLen: 16, ValFraction: 0.1, ChunkTokens: 500})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSamplerIsDeterministic(t *testing.T) {
	d := testDataset(t)
	a, b, c := d.NewSampler(42), d.NewSampler(42), d.NewSampler(43)
	same := true
	for range 20 {
		ia, ta := a.Next(4)
		ib, tb := b.Next(4)
		ic, _ := c.Next(4)
		if !slices.Equal(ia, ib) || !slices.Equal(ta, tb) {
			t.Fatal("two samplers with one seed diverged")
		}
		same = same && slices.Equal(ia, ic)
	}
	if same {
		t.Fatal("seeds 42 and 43 gave the same batches")
	}
}

func TestSamplerEpochVisitsEveryWindowOnceAndReshuffles(t *testing.T) {
	d := testDataset(t)
	n := d.TrainWindows()
	s := d.NewSampler(7)
	firstOfWindow := func(epochs int) [][]int32 {
		var order [][]int32
		for range epochs * n {
			in, _ := s.Next(1)
			order = append(order, in[:1])
		}
		return order
	}
	e0 := firstOfWindow(1)
	if s.Epoch() != 1 || s.State().Position != 0 {
		t.Fatalf("after %d windows: epoch %d position %d", n, s.Epoch(), s.State().Position)
	}
	seen := map[int32]bool{}
	for _, w := range e0 {
		if seen[w[0]] {
			t.Fatalf("window starting at %d drawn twice in one epoch", w[0])
		}
		seen[w[0]] = true
	}
	e1 := firstOfWindow(1)
	if slices.EqualFunc(e0, e1, slices.Equal) {
		t.Fatal("epoch 1 repeats epoch 0's order")
	}
}

func TestSamplerResumeGivesIdenticalBatches(t *testing.T) {
	d := testDataset(t)
	n := d.TrainWindows()
	for _, consumed := range []int{0, 3, n/5 - 1, n / 5} { // batches of 5: mid-epoch and across the epoch boundary
		orig := d.NewSampler(99)
		for range consumed {
			orig.Next(5)
		}
		st := orig.State()
		blob, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back SamplerState
		if err := json.Unmarshal(blob, &back); err != nil {
			t.Fatal(err)
		}
		resumed := d.NewSampler(0) // the seed comes from the state
		if err := resumed.Restore(back); err != nil {
			t.Fatal(err)
		}
		for step := range 3*n/5 + 2 {
			i1, t1 := orig.Next(5)
			i2, t2 := resumed.Next(5)
			if !slices.Equal(i1, i2) || !slices.Equal(t1, t2) {
				t.Fatalf("after %d batches, resumed batch %d differs", consumed, step)
			}
		}
		if orig.State() != resumed.State() {
			t.Fatalf("states diverged: %+v vs %+v", orig.State(), resumed.State())
		}
	}
}

func TestSamplerRestoreRejectsOtherData(t *testing.T) {
	d := testDataset(t)
	other, _ := NewDataset(seqTokens(12_000), DatasetOptions{SeqLen: 16, ValFraction: 0.1, ChunkTokens: 500})
	st := other.NewSampler(1).State()
	if err := d.NewSampler(1).Restore(st); err == nil {
		t.Fatal("state of another dataset accepted")
	}
	bad := d.NewSampler(1).State()
	bad.Position = bad.Windows
	if err := d.NewSampler(1).Restore(bad); err == nil {
		t.Fatal("position past the epoch accepted")
	}
}

func TestRankSamplersSplitTheGlobalBatch(t *testing.T) {
	d := testDataset(t)
	const world, B = 3, 2
	global := d.NewSampler(5)
	ranks := make([]*Sampler, world)
	for r := range ranks {
		var err error
		if ranks[r], err = d.NewRankSampler(5, r, world); err != nil {
			t.Fatal(err)
		}
	}
	for step := range 50 {
		want, _ := global.Next(B * world)
		var got []int32
		for _, s := range ranks {
			in, _ := s.Next(B)
			got = append(got, in...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: ranks' batches do not concatenate to the global batch", step)
		}
	}
	if _, err := d.NewRankSampler(1, 3, 3); err == nil {
		t.Fatal("rank 3 of 3 accepted")
	}
}

func TestSamplerFillMatchesNext(t *testing.T) {
	d := testDataset(t)
	a, b := d.NewSampler(3), d.NewSampler(3)
	in, tg := make([]int32, 4*16), make([]int32, 4*16)
	for range 10 {
		a.Fill(in, tg)
		wi, wt := b.Next(4)
		if !slices.Equal(in, wi) || !slices.Equal(tg, wt) {
			t.Fatal("Fill and Next differ")
		}
	}
}

func TestEvalIteratorOrderAndShards(t *testing.T) {
	d := testDataset(t)
	collect := func(it *EvalIterator, batch int) [][]int32 {
		var rows [][]int32
		for {
			in, _, n := it.Next(batch)
			if n == 0 {
				return rows
			}
			for r := range n {
				rows = append(rows, in[r*16:(r+1)*16])
			}
		}
	}
	all := collect(d.Eval(), 4)
	if len(all) != d.ValWindows() || len(all) == 0 {
		t.Fatalf("%d windows, dataset has %d", len(all), d.ValWindows())
	}
	for i := 1; i < len(all); i++ {
		if all[i][0] <= all[i-1][0] {
			t.Fatal("validation windows are not in stream order")
		}
	}
	again := d.Eval()
	if !slices.EqualFunc(collect(again, 3), all, slices.Equal) {
		t.Fatal("a second pass with another batch size differs")
	}
	again.Reset()
	if !slices.EqualFunc(collect(again, 7), all, slices.Equal) {
		t.Fatal("pass after Reset differs")
	}
	var merged int
	for r := range 3 {
		it, err := d.EvalShard(r, 3)
		if err != nil {
			t.Fatal(err)
		}
		rows := collect(it, 5)
		for i, row := range rows {
			if !slices.Equal(row, all[i*3+r]) {
				t.Fatalf("rank %d row %d is not window %d", r, i, i*3+r)
			}
		}
		merged += len(rows)
	}
	if merged != len(all) {
		t.Fatalf("shards hold %d windows, want %d", merged, len(all))
	}
	limited := d.Eval()
	limited.Limit(5)
	if got := collect(limited, 2); len(got) != 5 {
		t.Fatalf("Limit(5) gave %d windows", len(got))
	}
}
