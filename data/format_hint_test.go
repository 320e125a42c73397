package data

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownExtensionSaysHowToSetTheFormat: a file whose extension names no format, opened on its
// own or through a glob, is refused with the --set and --format that name one and the formats to
// choose from.
func TestUnknownExtensionSaysHowToSetTheFormat(t *testing.T) {
	dir := t.TempDir()
	weird := writeFile(t, filepath.Join(dir, "corpus.xyz"), "some text")
	_, detectErr := DetectFormat(weird)
	globErr := drain(filepath.Join(dir, "*.xyz"), SourceOptions{})
	for name, err := range map[string]error{"DetectFormat": detectErr, "glob": globErr} {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, want := range []string{"corpus.xyz", "--set data.format=text", "--format text",
			"text, jsonl, parquet and arrow", ".jsonl"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", name, err, want)
			}
		}
	}
}
