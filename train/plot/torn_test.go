package plot

// Mutations caught: Run reading with LoadMetrics (strict) again makes
// TestRunDrawsBeforeTornLine fail (an error at the torn line); dropping the
// note makes it fail too (the torn line left out without a word).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunDrawsBeforeTornLine: a metrics log whose last line is cut short (a
// run still writing it) is drawn without that line, and a note names it; a
// log holding only a torn line is an error saying to train first.
func TestRunDrawsBeforeTornLine(t *testing.T) {
	dir := writeMetrics(t, synthRecords(20, []int{1}, 4))
	path := filepath.Join(dir, MetricsFile)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"step":210,"loss":3.1,"lm_lo`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep, err := Run(dir, "", Options{})
	if err != nil {
		t.Fatalf("plot of a log with a torn last line: %v", err)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], MetricsFile+":21") || !strings.Contains(rep.Notes[0], "20 records") {
		t.Fatalf("notes %q: want one naming %s:21 and the 20 records drawn", rep.Notes, MetricsFile)
	}
	if len(rep.Files) != 5 {
		t.Fatalf("wrote %v, want all five charts", rep.Files)
	}

	only := t.TempDir()
	if err := os.WriteFile(filepath.Join(only, MetricsFile), []byte(`{"step":1,"lo`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(only, "", Options{}); err == nil || !strings.Contains(err.Error(), "no complete record") {
		t.Fatalf("a log of one torn line: %v", err)
	}
}
