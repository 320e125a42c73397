package train

// Mutations caught: the trainer not storing its tokenizer (Blobs dropped from save) fails
// TestCheckpointKeepsTokenizer on the missing blob; LoadModel not preferring the stored copy fails
// it once the original file is changed; ReadBlob skipping the checksum fails it on the corrupted copy.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/checkpoint"
	"github.com/moetrain/moetrain/data"
)

// TestCheckpointKeepsTokenizer: a BPE run's checkpoints hold its tokenizer.json, checksummed; a
// checkpoint whose original tokenizer file changed or vanished loads with the stored copy, and a
// damaged stored copy is an error naming it.
func TestCheckpointKeepsTokenizer(t *testing.T) {
	dir := t.TempDir()
	tokPath := filepath.Join(dir, "tokenizer.json")
	tok, err := data.TrainBPE([]string{strings.Repeat("the bees hum in the thyme; the miller sings. ", 80)}, 280)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, "data.tokenizer="+tokPath, "model.vocab_size=300", "train.steps=2", "train.eval_every=0", "train.checkpoint_every=0")
	run := filepath.Join(dir, "run")
	runTraining(t, c, run, false, 0)
	step, err := checkpoint.Resolve(run)
	if err != nil {
		t.Fatal(err)
	}
	stored, ok, err := checkpoint.ReadBlob(step, TokenizerBlob)
	if err != nil || !ok || string(stored) != string(orig) {
		t.Fatalf("stored tokenizer: listed %v, err %v, equal %v", ok, err, string(stored) == string(orig))
	}
	cfg, _, _, err := LoadModel(run)
	if err != nil || cfg.Data.Tokenizer != tokPath {
		t.Fatalf("with the original in place: tokenizer %q, %v", cfg.Data.Tokenizer, err)
	}
	other, err := data.TrainBPE([]string{strings.Repeat("zebra quartz jumps ", 80)}, 270)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Save(tokPath); err != nil {
		t.Fatal(err)
	}
	cfg, _, _, err = LoadModel(run)
	if err != nil || cfg.Data.Tokenizer != filepath.Join(step, TokenizerBlob) {
		t.Fatalf("after the original changed: tokenizer %q, %v; want the stored copy", cfg.Data.Tokenizer, err)
	}
	if _, err := data.LoadTokenizer(cfg.Data.Tokenizer); err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), stored...)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(filepath.Join(step, TokenizerBlob), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadModel(run); err == nil || !strings.Contains(err.Error(), TokenizerBlob) {
		t.Errorf("a damaged stored tokenizer: %v", err)
	}
}
