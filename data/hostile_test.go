package data

// Mutations caught: removing the tokens-per-byte bound in Manifest.validate
// makes TestManifestTokenClaimsAreBounded fail (and allocate 2^62 tokens);
// removing the checkShardSizes call in LoadShards makes the consistent-claim
// case of TestManifestTokenClaimsAreBounded crash; removing
// refuseUnindexedShards makes TestShardDirectoryWithoutManifestIsRefused fail;
// dropping the BOM strip makes TestJSONLByteOrderMark fail; dropping the
// utf8.Valid check in the JSONL, text or Arrow reader makes
// TestInvalidUTF8IsRefusedEverywhere fail; removing the regular-file check in
// OpenSource makes TestNonRegularFilesAreRefused hang on /dev/zero; dropping
// the MinShardTokens check makes TestPrepareShardTokensMinimum fail.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestManifestTokenClaimsAreBounded(t *testing.T) {
	dir := t.TempDir()
	out, m := preparedShards(t, dir)

	// A shard claiming 2^62 tokens in a file of a few hundred bytes.
	claim := *m
	claim.Shards = append([]ShardInfo(nil), m.Shards...)
	claim.Tokens += 1<<62 - claim.Shards[0].Tokens
	claim.Shards[0].Tokens = 1 << 62
	writeManifest(t, out, &claim)
	_, _, err := LoadShards(out)
	if err == nil || !strings.Contains(err.Error(), ManifestName) || !strings.Contains(err.Error(), "more than its") {
		t.Fatalf("error %v, want one naming %s and the impossible claim", err, ManifestName)
	}

	// A claim of 2^60 tokens with a file size to match: the real size refuses it.
	claim.Tokens -= 1<<62 - 1<<60
	claim.Shards[0].Tokens = 1 << 60
	claim.Shards[0].Bytes = 1 << 62
	writeManifest(t, out, &claim)
	_, _, err = LoadShards(out)
	shard := filepath.Join(out, m.Shards[0].File)
	if err == nil || !strings.Contains(err.Error(), shard) || !strings.Contains(err.Error(), "manifest says") {
		t.Fatalf("error %v, want one naming %s and its real size", err, shard)
	}
	if _, err := Load(LoadOptions{Input: out}); err == nil {
		t.Fatal("Load accepted the manifest")
	}

	// Token counts that overflow int64 when added.
	claim.Shards[0].Bytes = m.Shards[0].Bytes
	claim.Shards[0].Tokens = m.Shards[0].Tokens
	for i := range claim.Shards {
		claim.Shards[i].Bytes = 1 << 62
		claim.Shards[i].Tokens = 1<<62 - 1
	}
	writeManifest(t, out, &claim)
	if _, err := ReadManifest(out); err == nil || !strings.Contains(err.Error(), ManifestName) {
		t.Fatalf("error %v, want one naming %s", err, ManifestName)
	}

	// The untouched manifest still loads.
	writeManifest(t, out, m)
	if _, _, err := LoadShards(out); err != nil {
		t.Fatal(err)
	}
}

func TestShardDirectoryWithoutManifestIsRefused(t *testing.T) {
	dir := t.TempDir()
	out, _ := preparedShards(t, dir)
	if err := os.Remove(filepath.Join(out, ManifestName)); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"OpenSource": drain(out, SourceOptions{}),
		"Load":       func() error { _, err := Load(LoadOptions{Input: out}); return err }(),
		"Prepare": func() error {
			_, err := Prepare(PrepareOptions{Input: out, Out: filepath.Join(dir, "again")})
			return err
		}(),
	} {
		if err == nil || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), "no "+ManifestName) ||
			!strings.Contains(err.Error(), "data prepare") {
			t.Errorf("%s: error %v, want one naming %s, the missing manifest and what to do", name, err, out)
		}
	}
	// The glob the message offers reads the files, unchecked, as it says.
	if err := drain(filepath.Join(out, "*.arrow"), SourceOptions{}); err != nil {
		t.Fatalf("the suggested glob: %v", err)
	}
}

func TestJSONLByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, filepath.Join(dir, "bom.jsonl"), "\xEF\xBB\xBF{\"text\": \"first\"}\n{\"text\": \"second\"}\n")
	src, err := OpenSource(p, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := strings.Join(textsOf(readAll(t, src)), "|"); got != "first|second" {
		t.Fatalf("read %q, want first|second", got)
	}
	// A BOM later in the file is not a BOM: it is an error naming the line.
	p = writeFile(t, filepath.Join(dir, "late.jsonl"), "{\"text\": \"first\"}\n\xEF\xBB\xBF{\"text\": \"second\"}\n")
	if err := drain(p, SourceOptions{}); err == nil || !strings.Contains(err.Error(), p+":2") {
		t.Fatalf("error %v, want one naming %s:2", err, p)
	}
	// Fine-tuning files accept it too.
	p = writeFile(t, filepath.Join(dir, "ft.jsonl"), "\xEF\xBB\xBF{\"prompt\": \"a\", \"completion\": \"b\"}\n")
	recs, _ := readRecords(t, p, FinetuneReadOptions{})
	if len(recs) != 1 || recs[0].Prompt != "a" || recs[0].Completion != "b" {
		t.Fatalf("fine-tuning records %+v", recs)
	}
}

func TestInvalidUTF8IsRefusedEverywhere(t *testing.T) {
	dir := t.TempDir()
	arrowPath := filepath.Join(dir, "bad.arrow")
	writeArrowFile(t, arrowPath, textRecord("text", []string{"fine", "caf\xE9"}))
	for _, c := range []struct{ path, where string }{
		{writeFile(t, filepath.Join(dir, "bad.txt"), "line one\nline two caf\xE9\n"), ":2"},
		{writeFile(t, filepath.Join(dir, "bad.jsonl"), "{\"text\": \"ok\"}\n{\"text\": \"caf\xE9\"}\n"), ":2"},
		{arrowPath, " row 1"},
	} {
		err := drain(c.path, SourceOptions{})
		if err == nil || !strings.Contains(err.Error(), c.path+c.where) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: error %v, want one naming %s%s and UTF-8", c.path, err, c.path, c.where)
		}
	}
	// Valid UTF-8, including JSON escapes, is read unchanged.
	p := writeFile(t, filepath.Join(dir, "ok.jsonl"), "{\"text\": \"caf\\u00e9 \xC3\xA9\"}\n")
	src, err := OpenSource(p, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := textsOf(readAll(t, src)); len(got) != 1 || got[0] != "café é" {
		t.Fatalf("read %q", got)
	}
}

func TestNonRegularFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	checks := map[string]func() error{
		"/dev/zero as text": func() error { return drain("/dev/zero", SourceOptions{Format: FormatText}) },
		"/dev/zero as arrow": func() error {
			return drain("/dev/zero", SourceOptions{Format: FormatArrow})
		},
		"a FIFO":      func() error { return drain(fifo, SourceOptions{}) },
		"Load":        func() error { _, err := Load(LoadOptions{Input: "/dev/zero", Format: FormatJSONL}); return err },
		"a tokenizer": func() error { _, err := LoadTokenizer("/dev/zero"); return err },
		"fine-tuning": func() error { _, err := OpenFinetune("/dev/zero", FinetuneReadOptions{}); return err },
	}
	for name, check := range checks {
		done := make(chan error, 1)
		go func() { done <- check() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: error %v, want one saying it is not a regular file", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still reading after 10s", name)
		}
	}
}

func TestPrepareShardTokensMinimum(t *testing.T) {
	dir := t.TempDir()
	input := jsonlCorpus(t, dir, 10)
	for _, n := range []int{1, MinShardTokens - 1, -5} {
		out := filepath.Join(dir, "out")
		_, err := Prepare(PrepareOptions{Input: input, Out: out, ShardTokens: n})
		if err == nil || !strings.Contains(err.Error(), "--shard-tokens") || !strings.Contains(err.Error(), "at least 256") {
			t.Fatalf("shard tokens %d: error %v, want one naming --shard-tokens and the minimum", n, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Fatalf("shard tokens %d: the refused prepare wrote %d files", n, len(entries))
		}
	}
	if _, err := Prepare(PrepareOptions{Input: input, Out: filepath.Join(dir, "ok"), ShardTokens: MinShardTokens}); err != nil {
		t.Fatal(err)
	}
}

func TestShardCountIsBounded(t *testing.T) {
	w := &shardWriter{dir: t.TempDir(), limit: MinShardTokens, shards: make([]ShardInfo, MaxShards)}
	err := w.add(make([]int32, MinShardTokens))
	if err == nil || !strings.Contains(err.Error(), "raise --shard-tokens") {
		t.Fatalf("error %v, want one saying to raise --shard-tokens", err)
	}
	if entries, _ := os.ReadDir(w.dir); len(entries) != 0 {
		t.Fatalf("wrote %d files past the limit", len(entries))
	}
}
