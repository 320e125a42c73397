package data

// Mutations caught: removing checkRows makes TestRowClaimsAreBoundedByFileSize
// fail; removing the checkIPCFile call in arrowFileSource makes
// TestArrowSchemaClaimIsRefused crash (out of memory) and
// TestDamagedArrowFileIsAnError panic; removing the guardArrow around
// RecordAt makes TestDamagedArrowFileIsAnError panic; giving ipc.NewFileReader
// the default allocator makes TestArrowBodyClaimIsBounded allocate 1 TiB
// (crash); dropping the length check in streamFrames.frame makes
// TestArrowStreamClaimsAreRefused fail (a 2 GiB make, then a different error);
// removing checkIPCFile from decodeShard makes TestDamagedShardIsAnError crash.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// arrowFixture writes a small valid IPC file and returns its path and bytes.
func arrowFixture(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	p := filepath.Join(dir, "good.arrow")
	writeArrowFile(t, p, textRecord("text", []string{"hello", "world"}), textRecord("text", []string{"again"}))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// footerOf returns the footer flatbuffer of an IPC file and its offset in b.
func footerOf(t *testing.T, b []byte) ([]byte, int) {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(b[len(b)-10:]))
	start := len(b) - 10 - n
	return b[start : len(b)-10], start
}

// mustFailNaming drains path and wants an error (not a panic) naming it and want.
func mustFailNaming(t *testing.T, path, want string) {
	t.Helper()
	err := drain(path, SourceOptions{})
	if err == nil {
		t.Fatalf("%s: read without error", path)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q, want one naming the file and %q", path, err, want)
	}
}

func TestDamagedArrowFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	_, good := arrowFixture(t, dir)
	bad := filepath.Join(dir, "bad.arrow")
	failed := 0
	for i := range good {
		for _, v := range []byte{0x00, 0x7F, 0xFF} {
			b := bytes.Clone(good)
			if b[i] == v {
				continue
			}
			b[i] = v
			if err := os.WriteFile(bad, b, 0o644); err != nil {
				t.Fatal(err)
			}
			err := drain(bad, SourceOptions{})
			if err == nil {
				continue // a flip in padding or in text data is still a readable file
			}
			failed++
			if !strings.Contains(err.Error(), bad) {
				t.Fatalf("byte %d set to %#x: error %q does not name the file", i, v, err)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no damaged file was refused")
	}
}

func TestArrowSchemaClaimIsRefused(t *testing.T) {
	dir := t.TempDir()
	_, good := arrowFixture(t, dir)
	b := bytes.Clone(good)
	footer, _ := footerOf(t, b)
	root, _ := fbRoot(footer)
	schema, present, ok := root.sub(footerSchema)
	if !present || !ok {
		t.Fatal("fixture footer has no schema")
	}
	at, _ := schema.field(schemaFields)
	off, _ := fbU32(footer, at)
	binary.LittleEndian.PutUint32(footer[at+off:], 0xFFFFFFF0) // 4 billion fields
	p := filepath.Join(dir, "fields.arrow")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustFailNaming(t, p, "claims more entries")
	if _, err := Prepare(PrepareOptions{Input: p, Out: filepath.Join(dir, "out")}); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("prepare: error %v, want one naming %s", err, p)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", ManifestName)); err == nil {
		t.Fatal("prepare wrote a manifest for a refused input")
	}
}

func TestArrowBodyClaimIsBounded(t *testing.T) {
	dir := t.TempDir()
	_, good := arrowFixture(t, dir)
	b := bytes.Clone(good)
	footer, _ := footerOf(t, b)
	root, _ := fbRoot(footer)
	start, n, ok := root.vector(footerRecordBatches, blockBytes)
	if !ok || n == 0 {
		t.Fatal("fixture footer has no record batches")
	}
	// Block: offset int64, metadata length int32 (+4 padding), body length int64.
	binary.LittleEndian.PutUint64(footer[start+16:], 1<<40)
	p := filepath.Join(dir, "body.arrow")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustFailNaming(t, p, "more than the file's size allows")
}

func TestArrowStreamClaimsAreRefused(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.arrows")
	writeArrowStream(t, good, textRecord("text", []string{"hello", "world"}))
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(b) != ipcContinuation {
		t.Fatal("fixture stream does not start with a continuation marker")
	}
	// A metadata length of 2 GiB in a file of a few hundred bytes.
	huge := bytes.Clone(b)
	binary.LittleEndian.PutUint32(huge[4:], 0x7FFFFFF0)
	p := filepath.Join(dir, "meta.arrows")
	if err := os.WriteFile(p, huge, 0o644); err != nil {
		t.Fatal(err)
	}
	mustFailNaming(t, p, "claims 2147483632 bytes of metadata")

	// A schema message claiming 4 billion fields.
	fields := bytes.Clone(b)
	meta := fields[8 : 8+binary.LittleEndian.Uint32(fields[4:])]
	root, _ := fbRoot(meta)
	schema, present, ok := root.sub(messageHeader)
	if !present || !ok {
		t.Fatal("fixture's first message holds no schema")
	}
	at, _ := schema.field(schemaFields)
	off, _ := fbU32(meta, at)
	binary.LittleEndian.PutUint32(meta[at+off:], 0xFFFFFFF0)
	p = filepath.Join(dir, "fields.arrows")
	if err := os.WriteFile(p, fields, 0o644); err != nil {
		t.Fatal(err)
	}
	mustFailNaming(t, p, "claims more fields")

	// Every single-byte damage is an error or a readable stream, never a panic.
	for i := range b {
		d := bytes.Clone(b)
		d[i] ^= 0xFF
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := drain(p, SourceOptions{}); err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("byte %d flipped: error %q does not name the file", i, err)
		}
	}
}

// preparedShards writes a small shard directory and returns it with its manifest.
func preparedShards(t *testing.T, dir string) (string, *Manifest) {
	t.Helper()
	out := filepath.Join(dir, "shards")
	m, err := Prepare(PrepareOptions{Input: jsonlCorpus(t, dir, 50), Out: out, ShardTokens: 300})
	if err != nil {
		t.Fatal(err)
	}
	return out, m
}

func writeManifest(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedShardIsAnError(t *testing.T) {
	dir := t.TempDir()
	out, m := preparedShards(t, dir)
	path := filepath.Join(out, m.Shards[0].File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	footer, _ := footerOf(t, b)
	root, _ := fbRoot(footer)
	schema, _, _ := root.sub(footerSchema)
	at, _ := schema.field(schemaFields)
	off, _ := fbU32(footer, at)
	binary.LittleEndian.PutUint32(footer[at+off:], 0xFFFFFFF0)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The checksum is brought up to date: the damage came with the manifest.
	m.Shards[0].SHA256 = sha256Hex(b)
	writeManifest(t, out, m)
	_, _, err = LoadShards(out)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "claims more entries") {
		t.Fatalf("error %v, want one naming %s and the claim", err, path)
	}
	if err := drain(out, SourceOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("shard source: error %v, want one naming %s", err, path)
	}
}

func TestRowClaimsAreBoundedByFileSize(t *testing.T) {
	if err := checkRows("x.arrow", 1<<40, 1<<40, 1000); err == nil || !strings.Contains(err.Error(), "x.arrow") {
		t.Fatalf("a batch of 2^40 rows in 1000 bytes: error %v, want one naming the file", err)
	}
	if err := checkRows("x.arrow", 5, -1, 1000); err == nil {
		t.Fatal("a negative column length was accepted")
	}
	if err := checkRows("x.arrow", 8000, 8000, 1000); err != nil {
		t.Fatalf("8000 null rows in 1000 bytes: %v", err)
	}
}
