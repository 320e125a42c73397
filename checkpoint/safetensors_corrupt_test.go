package checkpoint

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestReadRejectsCorruptFiles(t *testing.T) {
	two := le32(nil, 1, 2) // 8 bytes of data
	rec := func(name, body string) string { return `{"` + name + `":` + body + `}` }
	good := buildFile(rec("w", `{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), two)
	headerLen := int(binary.LittleEndian.Uint64(good))

	withLength := func(n uint64) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	cases := []struct {
		name string
		file []byte
		want []string // substrings of the error besides the path
	}{
		{"empty file", nil, []string{"too short"}},
		{"cut in length", good[:5], []string{"too short"}},
		{"cut in header", good[:8+headerLen/2], []string{"exceeds", "truncated"}},
		{"cut in data", good[:len(good)-3], []string{`"w"`, "run past", "truncated"}},
		{"no data", good[:8+headerLen], []string{`"w"`, "truncated"}},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), []string{"4 bytes after the last tensor"}},
		{"huge header length", withLength(1 << 40), []string{"exceeds the", "limit"}},
		{"tiny header length", withLength(1), []string{"too small"}},
		{"header not an object", buildFile(`["w"]`, nil), []string{"does not start with '{'"}},
		{"header not JSON", buildFile(`{"w":`, two), []string{"not a JSON object"}},
		{"unknown dtype", buildFile(rec("w", `{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}`), two), []string{`"w"`, "unsupported dtype"}},
		{"missing shape", buildFile(rec("w", `{"dtype":"F32","data_offsets":[0,8]}`), two), []string{`"w"`, "missing shape"}},
		{"negative dim", buildFile(rec("w", `{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}`), two), []string{`"w"`, "invalid shape"}},
		{"overflowing shape", buildFile(rec("w", `{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}`), two), []string{`"w"`, "invalid shape"}},
		{"shape mismatch", buildFile(rec("w", `{"dtype":"F32","shape":[3],"data_offsets":[0,8]}`), two), []string{`"w"`, "needs 12 bytes", "span 8"}},
		{"one offset", buildFile(rec("w", `{"dtype":"F32","shape":[2],"data_offsets":[8]}`), two), []string{`"w"`, "data_offsets has 1"}},
		{"reversed offsets", buildFile(rec("w", `{"dtype":"F32","shape":[0],"data_offsets":[8,0]}`), two), []string{`"w"`, "invalid data_offsets"}},
		{"bad record", buildFile(rec("w", `{"dtype":"F32","shape":"2","data_offsets":[0,8]}`), two), []string{`"w"`, "bad record"}},
		{"bad metadata", buildFile(`{"__metadata__":{"n":1}}`, nil), []string{"__metadata__", "string map"}},
		{"overlap", buildFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two),
			[]string{`"b"`, "overlap tensor \"a\""}},
		{"gap", buildFile(rec("w", `{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), two), []string{`"w"`, "4 unindexed bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, tc.file)
			for _, read := range []func(string) error{
				func(p string) error { _, _, err := ReadSafetensors(p); return err },
				func(p string) error { _, _, err := ReadSafetensorsRaw(p); return err },
			} {
				err := read(path)
				if err == nil {
					t.Fatal("corrupt file read without error")
				}
				msg := err.Error()
				for _, w := range append(tc.want, path) {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not mention %q", msg, w)
					}
				}
			}
		})
	}
	// The good file itself reads, so the failures above come from the damage.
	if _, _, err := ReadSafetensors(writeTemp(t, good)); err != nil {
		t.Fatalf("undamaged file: %v", err)
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.safetensors")
	if _, _, err := ReadSafetensors(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want it to name %s", err, path)
	}
}

// TestReadWrittenThenTruncated cuts a real file at every length and checks
// that no prefix is accepted.
func TestReadWrittenThenTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.safetensors")
	tensors := map[string]*autograd.Tensor{
		"a": f32([]float32{1, 2, 3}, 3), "b": f64([]float64{4}, 1), "c": f32([]float32{}, 0),
	}
	if err := WriteSafetensors(path, tensors, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	full := readBytes(t, path)
	cut := filepath.Join(t.TempDir(), "cut.safetensors")
	for n := 0; n < len(full); n++ {
		if err := os.WriteFile(cut, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadSafetensors(cut); err == nil {
			t.Fatalf("prefix of %d of %d bytes accepted", n, len(full))
		}
	}
}
