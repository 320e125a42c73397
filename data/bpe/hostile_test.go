package bpe

// Mutations caught: removing the id bound in newTokenizer makes
// TestHugeIDIsRefused allocate a 2^31-entry table (gigabytes) and fail;
// removing the regular-file check in Load makes TestLoadRefusesDevices hang on
// /dev/zero (and fail after 10s); dropping the size limit makes the oversized
// case of TestLoadRefusesDevices fail.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHugeIDIsRefused(t *testing.T) {
	vocab := func(at int) map[string]int {
		return map[string]int{"Ġt": 256, "he": 257, "Ġthe": 258, "in": 259, "Ġc": 260, "at": at}
	}
	for name, extra := range map[string]map[string]int{
		"vocabulary":  vocab(2147483000),
		"added token": vocab(261),
	} {
		src := handWrittenJSON(extra)
		if name == "added token" {
			src = strings.Replace(src, `"added_tokens": [`, `"added_tokens": [{"id": 2147483600, "content": "<x>", "special": true},`, 1)
			if !strings.Contains(src, "2147483600") {
				t.Fatal("fixture has no added_tokens list")
			}
		}
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), "far beyond") {
			t.Errorf("%s: error %v, want one saying the id is far beyond the entries", name, err)
		}
	}
	// A small gap (an unused id) is still accepted.
	if _, err := Parse([]byte(handWrittenJSON(vocab(300)))); err != nil {
		t.Fatalf("a gap of a few ids: %v", err)
	}
}

func TestLoadRefusesDevices(t *testing.T) {
	done := make(chan error, 1)
	go func() { _, err := Load("/dev/zero"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("error %v, want one naming /dev/zero as not a regular file", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load(/dev/zero) still reading after 10s")
	}
	p := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("error %v, want one naming %s as too large", err, p)
	}
}
