package train

// Mutations caught: dropping the checkpoint in saveAfterMetricsError (returning
// werr alone) makes TestMetricsWriteErrorCheckpoints fail (no step-N
// checkpoint); making ReadMetricsTorn fail on a bad last line, as ReadMetrics
// does, makes TestMetricsWriteErrorCheckpoints fail at the resume and
// TestReadMetricsTorn fail; tolerating a bad line before the last, or a bad
// last line that ends in a newline, makes TestReadMetricsTorn fail; not
// publishing after each step makes TestProgressIsPublished fail.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullDisk passes the first room bytes to w and then fails like a full disk,
// writing what fits of the call that crosses the limit (a torn line).
type fullDisk struct {
	w    io.Writer
	room int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if len(p) <= d.room {
		d.room -= len(p)
		return d.w.Write(p)
	}
	n, err := d.w.Write(p[:d.room])
	d.room = 0
	if err != nil {
		return n, err
	}
	return n, &os.PathError{Op: "write", Path: "metrics.jsonl", Err: syscall.ENOSPC}
}

// TestMetricsWriteErrorCheckpoints: a metrics write that fails half-way (a
// full disk) stops the run with an error naming the file, after saving the
// step it failed at; the resumed run drops the torn line, says so, and its
// log holds every other step once.
func TestMetricsWriteErrorCheckpoints(t *testing.T) {
	c := testConfig(t, "train.checkpoint_every=0", "train.eval_every=0")
	dir := filepath.Join(t.TempDir(), "run")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{Config: c, RunDir: dir, Train: ds.TrainBatches(c)})
	if err != nil {
		t.Fatal(err)
	}
	// Room for a few records and part of the next one.
	tr.wrapMetrics = func(w io.Writer) io.Writer { return &fullDisk{w: w, room: 1200} }
	_, err = tr.Run(context.Background())
	if err == nil {
		t.Fatal("run with a failing metrics file: no error")
	}
	msg := err.Error()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(msg, filepath.Join(dir, "metrics.jsonl")) || !strings.Contains(msg, "--resume") {
		t.Fatalf("error %q: want ENOSPC naming %s and saying to resume", msg, filepath.Join(dir, "metrics.jsonl"))
	}
	stopped := tr.StepsDone()
	if stopped < 2 || stopped >= c.Train.Steps {
		t.Fatalf("stopped after %d steps: want the disk to fill mid-run", stopped)
	}
	latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest"))
	if err != nil || strings.TrimSpace(string(latest)) != fmt.Sprintf("step-%08d", stopped) {
		t.Fatalf("latest checkpoint %q (%v): want the step the metrics write failed at, %d", latest, err, stopped)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if len(raw) == 0 || raw[len(raw)-1] == '\n' {
		t.Fatalf("metrics.jsonl should end in a torn line, got %q", raw)
	}

	var log bytes.Buffer
	tr2, err := New(Options{Config: c, RunDir: dir, Resume: true, Train: ds.TrainBatches(c), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.Run(context.Background()); err != nil {
		t.Fatalf("resume after a torn metrics line: %v", err)
	}
	if !strings.Contains(log.String(), "metrics.jsonl:") || !strings.Contains(log.String(), "dropped it") {
		t.Fatalf("resume did not say it dropped the torn line:\n%s", log.String())
	}
	recs, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	// The torn line was the record of the step the run stopped at: every
	// other step is logged once, in order.
	var steps []int
	for _, r := range recs {
		steps = append(steps, r.Step)
	}
	var want []int
	for s := 1; s <= c.Train.Steps; s++ {
		if s != stopped {
			want = append(want, s)
		}
	}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Fatalf("logged steps after resume %v, want %v", steps, want)
	}
}

// TestReadMetricsTorn: only a bad last line without its newline is torn;
// ReadMetrics refuses both.
func TestReadMetricsTorn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	torn := write("torn.jsonl", "{\"step\":1}\n{\"step\":2}\n{\"step\":3,\"lo")
	recs, tl, err := ReadMetricsTorn(torn)
	if err != nil || tl == nil || tl.Line != 3 || len(recs) != 2 || recs[1].Step != 2 {
		t.Fatalf("torn last line: %d records, torn %v, err %v", len(recs), tl, err)
	}
	if _, err := ReadMetrics(torn); err == nil || !strings.Contains(err.Error(), "torn.jsonl:3") {
		t.Fatalf("ReadMetrics of a torn file: %v, want an error naming torn.jsonl:3", err)
	}
	clean := write("clean.jsonl", "{\"step\":1}\n{\"step\":2}\n\n")
	if recs, tl, err := ReadMetricsTorn(clean); err != nil || tl != nil || len(recs) != 2 {
		t.Fatalf("clean file: %d records, torn %v, err %v", len(recs), tl, err)
	}
	// A bad last line that ends in a newline was written whole: damage, not a torn write.
	whole := write("whole.jsonl", "{\"step\":1}\n{\"step\":\"two\"}\n")
	if _, tl, err := ReadMetricsTorn(whole); err == nil || tl != nil || !strings.Contains(err.Error(), "whole.jsonl:2") {
		t.Fatalf("bad complete last line: torn %v, err %v; want an error naming whole.jsonl:2", tl, err)
	}
	mid := write("mid.jsonl", "{\"step\":1}\n{\"st\n{\"step\":3}\n")
	if _, _, err := ReadMetricsTorn(mid); err == nil || !strings.Contains(err.Error(), "mid.jsonl:2") {
		t.Fatalf("bad middle line: %v, want an error naming mid.jsonl:2", err)
	}
	// On resume a damaged middle line is refused with what to do.
	if err := truncateAfter(mid, 5, io.Discard); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("resume over a damaged line: %v", err)
	}
}

// TestProgressIsPublished: Progress reports each step as it completes and
// the newest checkpoint's step.
func TestProgressIsPublished(t *testing.T) {
	c := testConfig(t, "train.steps=6", "train.checkpoint_every=4", "train.eval_every=0")
	ds, err := LoadData(c)
	if err != nil {
		t.Fatal(err)
	}
	var tr *Trainer
	var seen []string
	opts := Options{Config: c, RunDir: filepath.Join(t.TempDir(), "run"), Train: ds.TrainBatches(c),
		OnStep: func(step int) {
			done, saved := tr.Progress()
			seen = append(seen, fmt.Sprintf("%d/%d", done, saved))
		}}
	if tr, err = New(opts); err != nil {
		t.Fatal(err)
	}
	if done, saved := tr.Progress(); done != 0 || saved != 0 {
		// Not yet published: both zero before Run.
		t.Fatalf("before Run: %d/%d", done, saved)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "1/-1 2/-1 3/-1 4/4 5/4 6/4"
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("progress at each step %q, want %q", got, want)
	}
	if done, saved := tr.Progress(); done != 6 || saved != 6 {
		t.Fatalf("after Run: %d/%d, want 6/6", done, saved)
	}
}
