// Package testcorpus reads the test corpus kept beside the repository
// (../shared/data) for the data packages' tests.
//
// Without the corpus a test is skipped, except under CI=true, where a missing
// corpus fails the test: CI must not pass by skipping.
package testcorpus

import (
	"os"
	"testing"
)

// Read returns the corpus file at path, skipping the test when it is absent
// (failing it under CI=true).
func Read(tb testing.TB, path string) []byte {
	tb.Helper()
	b, ok := ReadIfPresent(tb, path)
	if !ok {
		tb.SkipNow()
	}
	return b
}

// ReadIfPresent is Read for a test that has cases without the corpus: it
// logs and reports false where Read would skip.
func ReadIfPresent(tb testing.TB, path string) ([]byte, bool) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		return b, true
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true and the test corpus is missing: %v; CI needs ../shared/data beside the repository", err)
	}
	tb.Logf("test corpus not available, its cases are left out (CI=true makes this a failure): %v", err)
	return nil, false
}
