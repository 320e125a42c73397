package bpe

import (
	"os"
	"testing"
)

// sharedData reads a file of the team's test corpus (../shared/data beside
// the repository). Without it the test is skipped, except under CI=true,
// where a missing corpus fails the test: CI must not pass by skipping.
func sharedData(tb testing.TB, path string) []byte {
	tb.Helper()
	b, ok := sharedDataIfPresent(tb, path)
	if !ok {
		tb.SkipNow()
	}
	return b
}

// sharedDataIfPresent is sharedData for a test that has cases without the
// corpus: it logs and reports false where sharedData would skip.
func sharedDataIfPresent(tb testing.TB, path string) ([]byte, bool) {
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
