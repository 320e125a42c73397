package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/moetrain/moetrain/autograd"
)

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Execute([]string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"moetrain ", "go:", "gemm:       " + autograd.GEMMBackend(), "blas:       " + autograd.BLASBackend(), "simd:       " + autograd.SIMDBackend(), "gomaxprocs:", "mpi:        " + mpiLine()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUnknownCommandFails(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Execute([]string{"no-such-command"}, &out, &errb); code == 0 {
		t.Fatal("unknown command exited 0")
	}
	if !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("stderr = %q", errb.String())
	}
}
