package bpe

import (
	"container/heap"
	"fmt"
	"slices"
)

// MinPairCount is the fewest occurrences a pair needs to be merged in training;
// rarer pairs would only memorise single words.
const MinPairCount = 2

// Trainer counts pre-tokenized words from text added to it and learns merges.
// The zero value is not usable; call NewTrainer.
type Trainer struct {
	words map[string]int64 // raw word bytes -> occurrences
}

// NewTrainer returns an empty trainer.
func NewTrainer() *Trainer { return &Trainer{words: make(map[string]int64)} }

// Add counts the words of text.
func (tr *Trainer) Add(text string) {
	splitWords(text, func(w string) { tr.words[w]++ })
}

// Train returns the tokenizer with the 256 byte tokens plus up to vocabSize-256
// merges learned from the counted words. Each step merges the adjacent pair that
// occurs most often (ties go to the pair of smaller ids); training stops early
// when no pair occurs MinPairCount times, so VocabSize may be less than asked.
// Training is deterministic.
func (tr *Trainer) Train(vocabSize int) (*Tokenizer, error) {
	if vocabSize < 256 {
		return nil, fmt.Errorf("bpe: vocabulary size %d is below the 256 byte tokens", vocabSize)
	}
	keys := make([]string, 0, len(tr.words))
	for w := range tr.words {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	st := newTrainState(keys, tr.words)
	merges := make([]merge, 0, vocabSize-256)
	for next := int32(256); int(next) < vocabSize; next++ {
		left, right, ok := st.best()
		if !ok {
			break
		}
		st.apply(left, right, next)
		merges = append(merges, merge{left, right, next})
	}
	return fromMerges(merges)
}

// Train learns a byte-level BPE tokenizer of at most vocabSize tokens from texts
// (see Trainer.Train).
func Train(texts []string, vocabSize int) (*Tokenizer, error) {
	tr := NewTrainer()
	for _, s := range texts {
		tr.Add(s)
	}
	return tr.Train(vocabSize)
}

// fromMerges builds the tokenizer of a trained merge list: id b is byte b, and
// merge r makes id 256+r.
func fromMerges(merges []merge) (*Tokenizer, error) {
	raw := make([][]byte, 256, 256+len(merges))
	for b := range 256 {
		raw[b] = []byte{byte(b)}
	}
	vocab := make(map[string]int32, 256+len(merges))
	for b := range 256 {
		vocab[toByteLevel(raw[b])] = int32(b)
	}
	texts := make([][2]string, len(merges))
	for r, m := range merges {
		joined := append(append([]byte{}, raw[m.left]...), raw[m.right]...)
		raw = append(raw, joined)
		vocab[toByteLevel(joined)] = m.result
		texts[r] = [2]string{toByteLevel(raw[m.left]), toByteLevel(raw[m.right])}
	}
	return newTokenizer(vocab, texts, nil)
}

// trainState holds the distinct words as token sequences and, for every adjacent
// pair, its weighted count and the words it occurs in.
type trainState struct {
	words  []trainWord
	counts map[uint64]int64
	where  map[uint64][]int32 // pair -> indices of words that held it (may repeat or be stale)
	queue  pairQueue          // candidate pairs; counts in it may be stale (too high)
	stamp  []int32            // per word: last merge that rewrote it
}

type trainWord struct {
	syms  []int32
	count int64
}

func newTrainState(keys []string, freq map[string]int64) *trainState {
	st := &trainState{
		words:  make([]trainWord, len(keys)),
		counts: make(map[uint64]int64),
		where:  make(map[uint64][]int32),
		stamp:  make([]int32, len(keys)),
	}
	for i, k := range keys {
		syms := make([]int32, len(k))
		for j := 0; j < len(k); j++ {
			syms[j] = int32(k[j])
		}
		st.words[i] = trainWord{syms: syms, count: freq[k]}
		for j := 0; j+1 < len(syms); j++ {
			p := pairKey(syms[j], syms[j+1])
			st.counts[p] += freq[k]
			st.where[p] = append(st.where[p], int32(i))
		}
	}
	for p, c := range st.counts {
		st.queue = append(st.queue, pairCount{pair: p, count: c})
	}
	heap.Init(&st.queue)
	return st
}

// best pops the most frequent pair. Entries whose count went down since they were
// queued are re-queued with the current count; counts only ever fall for pairs
// already queued, so the first entry whose count is current is the maximum.
func (st *trainState) best() (left, right int32, ok bool) {
	for st.queue.Len() > 0 {
		top := heap.Pop(&st.queue).(pairCount)
		cur := st.counts[top.pair]
		if cur != top.count {
			if cur >= MinPairCount {
				heap.Push(&st.queue, pairCount{pair: top.pair, count: cur})
			}
			continue
		}
		if cur < MinPairCount {
			return 0, 0, false
		}
		return int32(top.pair >> 32), int32(uint32(top.pair)), true
	}
	return 0, 0, false
}

// apply merges every occurrence of (left, right) into result and updates counts.
func (st *trainState) apply(left, right, result int32) {
	target := pairKey(left, right)
	fresh := make(map[uint64]struct{})
	for _, wi := range st.where[target] {
		if st.stamp[wi] == result {
			continue
		}
		st.stamp[wi] = result
		w := &st.words[wi]
		if !hasPair(w.syms, left, right) {
			continue
		}
		for j := 0; j+1 < len(w.syms); j++ {
			st.counts[pairKey(w.syms[j], w.syms[j+1])] -= w.count
		}
		w.syms = mergePair(w.syms, left, right, result)
		for j := 0; j+1 < len(w.syms); j++ {
			a, b := w.syms[j], w.syms[j+1]
			p := pairKey(a, b)
			st.counts[p] += w.count
			if a == result || b == result {
				st.where[p] = append(st.where[p], wi)
				fresh[p] = struct{}{}
			}
		}
	}
	delete(st.where, target)
	delete(st.counts, target)
	for p := range fresh {
		if c := st.counts[p]; c >= MinPairCount {
			heap.Push(&st.queue, pairCount{pair: p, count: c})
		}
	}
}

func hasPair(syms []int32, a, b int32) bool {
	for j := 0; j+1 < len(syms); j++ {
		if syms[j] == a && syms[j+1] == b {
			return true
		}
	}
	return false
}

// mergePair replaces non-overlapping occurrences of (a, b), left to right, in place.
func mergePair(syms []int32, a, b, result int32) []int32 {
	w := 0
	for i := 0; i < len(syms); i++ {
		if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
			syms[w] = result
			i++
		} else {
			syms[w] = syms[i]
		}
		w++
	}
	return syms[:w]
}

// pairCount is a queue entry. The queue is a max-heap on count; ties go to the
// smaller pair key (smaller left id, then smaller right id).
type pairCount struct {
	pair  uint64
	count int64
}

type pairQueue []pairCount

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	if q[i].count != q[j].count {
		return q[i].count > q[j].count
	}
	return q[i].pair < q[j].pair
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(pairCount)) }
func (q *pairQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
