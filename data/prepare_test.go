package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/data/corpus"
)

// jsonlCorpus writes n short JSONL documents and returns the path.
func jsonlCorpus(t *testing.T, dir string, n int) string {
	var sb strings.Builder
	for i := range n {
		line, _ := json.Marshal(map[string]any{"text": strings.Repeat("word ", i%7+1) + "end", "n": i})
		sb.Write(line)
		sb.WriteByte('\n')
	}
	return writeFile(t, filepath.Join(dir, "docs.jsonl"), sb.String())
}

func TestPrepareThenLoadGivesSameTokens(t *testing.T) {
	dir := t.TempDir()
	input := jsonlCorpus(t, dir, 200)
	out := filepath.Join(dir, "shards")
	m, err := Prepare(PrepareOptions{Input: input, Tokenizer: "byte", Out: out, ShardTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := Load(LoadOptions{Input: input, Tokenizer: "byte"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Documents != 200 || m.Tokens != int64(len(direct.Tokens)) || len(m.Shards) < 3 {
		t.Fatalf("manifest: %d documents, %d tokens in %d shards; direct load has %d tokens",
			m.Documents, m.Tokens, len(m.Shards), len(direct.Tokens))
	}
	for _, s := range m.Shards[:len(m.Shards)-1] {
		if s.Tokens != 1000 {
			t.Fatalf("shard %s holds %d tokens, want 1000 (documents split across shards)", s.File, s.Tokens)
		}
	}
	gotM, tokens, err := LoadShards(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tokens, direct.Tokens) {
		t.Fatal("tokens from shards differ from tokenizing the input directly")
	}
	if gotM.Tokenizer != "byte" || gotM.VocabSize != 256 || gotM.Source != input {
		t.Fatalf("manifest %+v", gotM)
	}
	// Load on the shard directory takes the same route the trainer does.
	s, err := Load(LoadOptions{Input: out})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Tokens, direct.Tokens) || s.Manifest == nil || s.Tokenizer.Name() != "byte" {
		t.Fatal("Load of the shard directory differs")
	}
	// The packed text is the documents, each ending in a blank line.
	if got := direct.Tokenizer.Decode(direct.Tokens[:20]); got != "word end\n\nword word " {
		t.Fatalf("packed text starts %q", got)
	}
	// Shards read as a source give the same stream.
	src, err := OpenSource(out, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var again []int32
	for _, d := range readAll(t, src) {
		again = append(again, d.Tokens...)
	}
	if !slices.Equal(again, direct.Tokens) {
		t.Fatal("shard source yields a different stream")
	}
}

func TestCorruptOrMissingShardIsDetected(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "shards")
	m, err := Prepare(PrepareOptions{Input: jsonlCorpus(t, dir, 100), Out: out, ShardTokens: 500})
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(out, m.Shards[1].File)
	orig, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(orig)
	flipped[len(flipped)/2] ^= 0x40
	tests := []struct {
		name  string
		apply func()
		want  string
	}{
		{"flipped byte", func() { os.WriteFile(victim, flipped, 0o644) }, "corrupt"},
		{"truncated", func() { os.WriteFile(victim, orig[:len(orig)-8], 0o644) }, "corrupt"},
		{"missing", func() { os.Remove(victim) }, "missing"},
	}
	for _, tc := range tests {
		tc.apply()
		_, _, err := LoadShards(out)
		if err == nil {
			t.Fatalf("%s: shard accepted", tc.name)
		}
		msg := err.Error()
		if !strings.Contains(msg, m.Shards[1].File) || !strings.Contains(msg, tc.want) || !strings.Contains(msg, "prepare") {
			t.Errorf("%s: error %q should name the file, say %q and suggest re-running prepare", tc.name, msg, tc.want)
		}
		os.WriteFile(victim, orig, 0o644)
	}
	if _, _, err := LoadShards(out); err != nil {
		t.Fatalf("restored shard still rejected: %v", err)
	}
	// A manifest whose counts do not add up is rejected too.
	mb, _ := os.ReadFile(filepath.Join(out, ManifestName))
	os.WriteFile(filepath.Join(out, ManifestName), []byte(strings.Replace(string(mb), `"tokens": 500`, `"tokens": 501`, 1)), 0o644)
	if _, _, err := LoadShards(out); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Fatalf("tampered manifest: error %v", err)
	}
}

func TestPrepareTrainsBPEAndChecksTokenizer(t *testing.T) {
	dir := t.TempDir()
	text := corpus.Default()[:40000]
	input := writeFile(t, filepath.Join(dir, "in.txt"), text)
	out := filepath.Join(dir, "shards")
	m, err := Prepare(PrepareOptions{Input: input, Tokenizer: "bpe:400", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tokenizer != TokenizerFile || m.VocabSize != 400 || m.TokenizerName != "bpe-400" || len(m.TokenizerSHA256) != 64 {
		t.Fatalf("manifest tokenizer %q V=%d name %q", m.Tokenizer, m.VocabSize, m.TokenizerName)
	}
	s, err := Load(LoadOptions{Input: out})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Tokenizer.Decode(s.Tokens); got != text {
		t.Fatalf("decoded shards differ from the input: %q...", got[:60])
	}
	if int64(len(s.Tokens)) != m.Tokens || m.Tokens > int64(len(text))*6/10 {
		t.Fatalf("%d tokens for %d bytes: the trained BPE should compress this text", m.Tokens, len(text))
	}
	if _, err := Load(LoadOptions{Input: out, Tokenizer: filepath.Join(out, TokenizerFile)}); err != nil {
		t.Fatalf("loading with the shards' own tokenizer.json: %v", err)
	}
	_, err = Load(LoadOptions{Input: out, Tokenizer: "byte"})
	if err == nil || !strings.Contains(err.Error(), "bpe-400") {
		t.Fatalf("byte tokenizer on BPE shards: error %v", err)
	}
	// Re-running with fewer, larger shards leaves no stale shard behind.
	small := filepath.Join(dir, "small")
	if _, err := Prepare(PrepareOptions{Input: input, Out: small, ShardTokens: 1000}); err != nil {
		t.Fatal(err)
	}
	m2, err := Prepare(PrepareOptions{Input: input, Out: small})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(small, "shard-*.arrow"))
	if len(left) != len(m2.Shards) || len(left) != 1 {
		t.Fatalf("%d shard files after re-run, manifest lists %d", len(left), len(m2.Shards))
	}
	for _, e := range mustReadDir(t, small) {
		if strings.Contains(e, ".tmp-") {
			t.Fatalf("temporary file %s left behind", e)
		}
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPrepareAndLoadEmbeddedCorpus(t *testing.T) {
	s, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != corpus.Name || len(s.Tokens) < 300_000 || s.Tokenizer.Name() != "byte" {
		t.Fatalf("embedded corpus: source %q, %d tokens, tokenizer %s", s.Source, len(s.Tokens), s.Tokenizer.Name())
	}
	h := UnigramEntropy(s.Tokens)
	t.Logf("embedded corpus: %d byte tokens, unigram entropy %.3f nats/token", len(s.Tokens), h)
	if h < 2 || h > 4 {
		t.Errorf("unigram entropy %.3f nats is not that of English text", h)
	}
	m, err := Prepare(PrepareOptions{Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tokens != int64(len(s.Tokens)) || m.Source != corpus.Name {
		t.Fatalf("prepared embedded corpus: %d tokens from %q", m.Tokens, m.Source)
	}
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, filepath.Join(dir, "empty.jsonl"), "\n\n")
	tokens := writeFile(t, filepath.Join(dir, "ids.jsonl"), `{"text": [1, 2, 300]}`)
	tests := []struct {
		name string
		opts PrepareOptions
		want string
	}{
		{"no output", PrepareOptions{Input: empty}, "output directory"},
		{"empty input", PrepareOptions{Input: empty, Out: filepath.Join(dir, "o1")}, "no text"},
		{"id outside vocabulary", PrepareOptions{Input: tokens, Out: filepath.Join(dir, "o2")}, "outside the vocabulary"},
		{"bpe on tokens", PrepareOptions{Input: tokens, Tokenizer: "bpe:300", Out: filepath.Join(dir, "o3")}, "already tokenized"},
		{"bad bpe spec", PrepareOptions{Input: empty, Tokenizer: "bpe:12", Out: filepath.Join(dir, "o4")}, "bpe:N"},
		{"output is input", PrepareOptions{Input: dir, Out: dir}, "overwrite"},
	}
	for _, tc := range tests {
		_, err := Prepare(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
