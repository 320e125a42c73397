package main

// Mutations caught: removing the train.CheckMemory call from trainRun.execute makes
// TestPretrainRefusesWhatCannotFit fail (the run starts building a model of 25 billion
// parameters); removing configs' upper bounds makes TestPretrainRefusesTypoSizes fail on time.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moetrain/moetrain/configs"
	"github.com/moetrain/moetrain/train"
)

func TestPretrainRefusesWhatCannotFit(t *testing.T) {
	sets := []string{"model.d_model=65536", "model.n_layers=64"}
	c, err := configs.Load(configs.LoadOptions{ConfigRef: "tiny", Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	avail, ok := train.MemAvailable()
	if !ok {
		t.Skip("no MemAvailable in /proc/meminfo")
	}
	if need := train.EstimateMemory(c).Total(); need <= avail {
		t.Skipf("this machine has %d bytes available, enough for %d", avail, need)
	}
	out := filepath.Join(t.TempDir(), "run")
	start := time.Now()
	_, errs, code := run(t, "pretrain", "--config", "tiny", "--out", out, "--set", sets[0], "--set", sets[1])
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	for _, w := range []string{"pretrain: this run needs about", "available", "model.d_model 65536"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr %q does not contain %q", errs, w)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("refusal took %v", d)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused run created %s (%v)", out, err)
	}
}

func TestPretrainRefusesTypoSizes(t *testing.T) {
	for _, set := range []string{"model.d_model=1e9", "train.micro_batch_size=1e9", "model.n_layers=1e8"} {
		key, _, _ := strings.Cut(set, "=")
		start := time.Now()
		_, errs, code := run(t, "pretrain", "--config", "tiny", "--out", filepath.Join(t.TempDir(), "run"), "--set", set)
		if code != 1 || !strings.Contains(errs, key+": ") || !strings.Contains(errs, "typo") {
			t.Errorf("--set %s: exit %d, stderr %q; want exit 1 naming %s", set, code, errs, key)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("--set %s: refusal took %v", set, d)
		}
	}
}
